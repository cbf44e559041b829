//! Case-insensitive matching of ARM paths against swagger-like patterns.
//!
//! A pattern is a swagger path: literal segments match ignoring ASCII case, `{name}` captures one segment,
//! and a leading `{scope}` captures any number of segments (extension resources such as role assignments).
//! Rendering a match gives the canonical id: literals in the pattern's casing, captured names as sent.

use std::collections::BTreeMap;

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(&'static str),
    Param(&'static str),
}

/// A parsed path pattern such as `/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    raw: &'static str,
    scoped: bool,
    segs: Vec<Seg>,
}

/// The captures of a matched path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    /// `{param}` values, by parameter name.
    pub params: BTreeMap<&'static str, String>,
    /// The `{scope}` prefix (with a leading `/`), for scoped patterns.
    pub scope: Option<String>,
}

impl Captures {
    /// A captured parameter ("" if absent).
    pub fn get(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or("")
    }
}

impl Pattern {
    /// Parses a pattern; `{scope}` is only allowed as the first segment.
    pub fn new(raw: &'static str) -> Self {
        let mut scoped = false;
        let mut segs = Vec::new();
        for (i, s) in raw.trim_start_matches('/').split('/').enumerate() {
            if s == "{scope}" {
                assert_eq!(i, 0, "{{scope}} must lead the pattern {raw}");
                scoped = true;
            } else if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                segs.push(Seg::Param(name));
            } else {
                segs.push(Seg::Lit(s));
            }
        }
        Pattern { raw, scoped, segs }
    }

    /// The pattern as written.
    pub fn raw(&self) -> &'static str {
        self.raw
    }

    /// Matches decoded path segments.
    pub fn matches(&self, segments: &[String]) -> Option<Captures> {
        let (prefix, tail) = if self.scoped {
            if segments.len() < self.segs.len() {
                return None;
            }
            segments.split_at(segments.len() - self.segs.len())
        } else {
            if segments.len() != self.segs.len() {
                return None;
            }
            (&segments[..0], segments)
        };
        let mut captures = Captures::default();
        for (seg, value) in self.segs.iter().zip(tail) {
            match seg {
                Seg::Lit(lit) if lit.eq_ignore_ascii_case(value) => {}
                Seg::Lit(_) => return None,
                Seg::Param(_) if value.is_empty() => return None,
                Seg::Param(name) => {
                    captures.params.insert(name, value.clone());
                }
            }
        }
        if self.scoped {
            captures.scope = Some(join(prefix));
        }
        Some(captures)
    }

    /// The canonical path for `captures` (pattern casing for literals).
    pub fn render(&self, captures: &Captures) -> String {
        let mut out = captures.scope.clone().unwrap_or_default();
        for seg in &self.segs {
            out.push('/');
            match seg {
                Seg::Lit(lit) => out.push_str(lit),
                Seg::Param(name) => out.push_str(captures.get(name)),
            }
        }
        out
    }
}

/// Splits a URL path into percent-decoded segments (empty segments dropped).
pub fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect()
}

/// Joins segments into a path with a leading `/`.
pub fn join(segments: &[String]) -> String {
    segments.iter().fold(String::new(), |mut acc, s| {
        acc.push('/');
        acc.push_str(s);
        acc
    })
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The id of the parent: the id without its last `/type/name` pair ("" for a top-level id).
pub fn parent_id(id: &str) -> &str {
    let mut cut = id.len();
    for _ in 0..2 {
        match id[..cut].rfind('/') {
            Some(i) => cut = i,
            None => return "",
        }
    }
    &id[..cut]
}

/// Whether `id` is `ancestor` or lies below it (case-insensitive, on segment boundaries).
pub fn is_within(id: &str, ancestor: &str) -> bool {
    id.len() >= ancestor.len()
        && id[..ancestor.len()].eq_ignore_ascii_case(ancestor)
        && (id.len() == ancestor.len() || id.as_bytes()[ancestor.len()] == b'/')
}

/// Lower-case key for case-insensitive maps of ids.
pub fn key(id: &str) -> String {
    id.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        segments(p)
    }

    #[test]
    fn literal_segments_ignore_case() {
        let p = Pattern::new("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}");
        let m = p
            .matches(&segs("/SUBSCRIPTIONS/s1/resourcegroups/RG/providers/microsoft.storage/STORAGEACCOUNTS/acc"))
            .unwrap();
        assert_eq!(m.get("resourceGroupName"), "RG");
        assert_eq!(m.get("accountName"), "acc");
        assert_eq!(p.render(&m), "/subscriptions/s1/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/acc");
        assert!(p.matches(&segs("/subscriptions/s1/resourceGroups/RG")).is_none());
    }

    #[test]
    fn scope_captures_any_prefix() {
        let p = Pattern::new("{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}");
        let m = p
            .matches(&segs("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/g1"))
            .unwrap();
        assert_eq!(m.scope.as_deref(), Some("/subscriptions/s/resourceGroups/rg"));
        assert_eq!(m.get("roleAssignmentName"), "g1");
        assert_eq!(
            p.render(&m),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/g1"
        );
        assert!(p.matches(&segs("/subscriptions/s/providers/Microsoft.Authorization/roleAssignments")).is_none());
    }

    #[test]
    fn decoding_and_ids() {
        assert_eq!(percent_decode("my%20rg"), "my rg");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a%zz"), "a%zz");
        assert_eq!(parent_id("/subscriptions/s/resourceGroups/rg"), "/subscriptions/s");
        assert_eq!(parent_id("/a"), "");
        assert!(is_within("/subscriptions/s/resourceGroups/RG/providers/x", "/subscriptions/s/resourcegroups/rg"));
        assert!(!is_within("/subscriptions/s/resourceGroups/rg2", "/subscriptions/s/resourceGroups/rg"));
        assert!(is_within("/a/b", "/a/b"));
    }
}
