//! "Did you mean …?" for misspelled names.

/// The candidate closest to `given`, if it is close enough to be a likely typo: equal ignoring
/// case, or within an edit distance of a third of its length (at least 2).
///
/// Two equally close candidates suggest nothing: a guess between them would mislead.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    let mut tied = false;
    for candidate in candidates {
        let candidate_lower = candidate.to_lowercase();
        let distance = if candidate_lower == given_lower { 0 } else { edit_distance(&given_lower, &candidate_lower) };
        let limit = (candidate.chars().count() / 3).max(2);
        if distance > limit {
            continue;
        }
        match best {
            Some((best_distance, _)) if distance == best_distance && distance > 0 => tied = true,
            Some((best_distance, _)) if distance >= best_distance => {}
            _ => {
                best = Some((distance, candidate));
                tied = false;
            }
        }
    }
    if tied {
        return None;
    }
    best.map(|(_, candidate)| candidate)
}

/// Levenshtein distance with adjacent transpositions counted as one edit
/// (optimal string alignment), on characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        table[i * width] = i;
    }
    for (j, cell) in table.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[(i - 1) * width + j] + 1)
                .min(table[i * width + j - 1] + 1)
                .min(table[(i - 1) * width + j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[(i - 2) * width + j - 2] + 1);
            }
            table[i * width + j] = best;
        }
    }
    table[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMETERS: [&str; 5] = ["location", "imageSource", "imageDefinition", "galleryName", "agentPool"];

    #[test]
    fn typos_find_the_parameter() {
        assert_eq!(closest("imageSorce", PARAMETERS), Some("imageSource"));
        assert_eq!(closest("ImageSource", PARAMETERS), Some("imageSource"));
        assert_eq!(closest("locaiton", PARAMETERS), Some("location"));
        assert_eq!(closest("galeryName", PARAMETERS), Some("galleryName"));
    }

    #[test]
    fn unrelated_names_find_nothing() {
        assert_eq!(closest("subscription", PARAMETERS), None);
        assert_eq!(closest("x", PARAMETERS), None);
    }

    #[test]
    fn ties_suggest_nothing() {
        assert_eq!(closest("V3", ["V1", "V2"]), None);
        assert_eq!(closest("v2", ["V1", "V2"]), Some("V2"));
    }

    #[test]
    fn transposition_is_one_edit() {
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
