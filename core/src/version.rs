//! Version strategies for Azure Compute Gallery image versions.
//!
//! A gallery image version is `Major.Minor.Patch`, where every part is an integer in
//! `0..=2147483647` (a non-negative 32-bit signed integer). Versions are unique within an
//! image definition, so any strategy that can produce the same version twice is detected by
//! the gallery itself when the second version is created.

use std::fmt;
use std::path::Path;
use std::process::Command;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{OffsetDateTime, UtcOffset};

/// The largest value the gallery accepts for one version part (`i32::MAX`).
pub const MAX_PART: u32 = i32::MAX as u32;

/// Errors produced while parsing or resolving image versions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("invalid image version '{input}': expected three dot-separated numbers like 1.2.3")]
    Shape { input: String },
    #[error("invalid image version '{input}': part {part} ('{value}') {problem}")]
    Part { input: String, part: usize, value: String, problem: &'static str },
    #[error("invalid version '{input}': gallery image versions are three integers only (Major.Minor.Patch); pre-release or build suffixes like '-rc.1' or '+meta' are not allowed")]
    Suffix { input: String },
    #[error("the semver strategy needs a version: set `version` in the parameter file or pass it on the command line")]
    MissingVersion,
    #[error("invalid git tag prefix '{prefix}': {reason}")]
    InvalidTagPrefix { prefix: String, reason: &'static str },
    #[error("cannot parse `git describe` output '{output}': {reason}")]
    GitDescribe { output: String, reason: String },
    #[error("tag '{tag}' plus {distance} commits overflows the patch part (max 2147483647)")]
    PatchOverflow { tag: String, distance: u32 },
    #[error("the gitTag strategy needs a repository directory")]
    MissingRepoDir,
    #[error("git executable not found on PATH")]
    GitNotFound,
    #[error("failed to run git: {0}")]
    GitIo(String),
    #[error("no git tag matching '{pattern}' is reachable from HEAD (shallow clone without tags?)")]
    NoMatchingTag { pattern: String },
    #[error("`git describe` failed ({status}): {stderr}")]
    GitFailed { status: String, stderr: String },
}

/// An Azure Compute Gallery image version, `Major.Minor.Patch`.
///
/// Ordering is numeric, part by part (`1.10.0 > 1.9.0`). Parsing accepts leading zeros and
/// normalises them away (`01.2.3` becomes `1.2.3`), as Azure does. (De)serialises as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ImageVersion {
    /// Builds a version without checking the `0..=2147483647` range of each part.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self { major, minor, patch }
    }
}

impl FromStr for ImageVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('.').collect();
        let [major, minor, patch] = parts[..] else {
            return Err(VersionError::Shape { input: s.into() });
        };
        let num = |part: usize, value: &str| parse_part(s, part, value);
        Ok(Self::new(num(1, major)?, num(2, minor)?, num(3, patch)?))
    }
}

/// Parses one part (1-based `part` index, used in errors) under the gallery rules.
fn parse_part(input: &str, part: usize, value: &str) -> Result<u32, VersionError> {
    let problem = if value.is_empty() {
        "is empty"
    } else if !value.bytes().all(|b| b.is_ascii_digit()) {
        "is not a non-negative integer (digits only, no sign)"
    } else {
        match value.parse::<u32>() {
            Ok(n) if n <= MAX_PART => return Ok(n),
            _ => "is larger than 2147483647",
        }
    };
    let (input, value) = (input.to_owned(), value.to_owned());
    Err(VersionError::Part { input, part, value, problem })
}

impl fmt::Display for ImageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for ImageVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ImageVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a semver-looking `x.y.z`, with an optional leading `v` which is stripped.
///
/// Pre-release and build suffixes (`1.2.3-rc.1`, `1.2.3+meta`) are rejected with
/// [`VersionError::Suffix`]: gallery versions are three integers only.
pub fn parse_semver(s: &str) -> Result<ImageVersion, VersionError> {
    let core = s.strip_prefix('v').unwrap_or(s);
    if let Some(idx) = core.find(['-', '+']) {
        // Only call it a suffix if what precedes it is a complete version.
        if core[..idx].parse::<ImageVersion>().is_ok() {
            return Err(VersionError::Suffix { input: s.into() });
        }
    }
    core.parse()
}

/// Date-based version `0.<yy><day-of-year, 3 digits>.<seconds-of-day>`, evaluated in UTC.
///
/// `2024-11-17 15:31:24 UTC` gives `0.24322.55884`. The middle part is an integer, so leading
/// zeros disappear: 2025-01-05 gives minor `25005`, and 2000-01-01 gives minor `1` (`0.1.0`).
///
/// Caveats:
/// - two builds within the same second get the same version (the gallery rejects the second);
/// - ordering only holds within one century: `yy` wraps in 2100, so 2100 sorts before 2099;
/// - seconds-of-day resets at midnight UTC, but minor increases then, so ordering holds.
///
/// Panics only if converting `at` to UTC leaves the range supported by `time` (year ±9999).
pub fn date_based(at: OffsetDateTime) -> ImageVersion {
    let utc = at.to_offset(UtcOffset::UTC);
    let yy = utc.year().rem_euclid(100) as u32;
    let (h, m, s) = utc.to_hms();
    let seconds = u32::from(h) * 3600 + u32::from(m) * 60 + u32::from(s);
    ImageVersion::new(0, yy * 1000 + u32::from(utc.ordinal()), seconds)
}

/// Parses `git describe --tags --long` output such as `v1.4.0-3-gabc1234` (tag, distance, sha).
///
/// Distance 0 gives the tag's version; distance `N > 0` gives `major.minor.(patch + N)`.
/// Caveat: a later tag `v1.4.3` collides with `v1.4.0` + 3 commits; the gallery rejects the
/// duplicate, so the caller sees it when publishing. The prefix may contain dashes
/// (`release-1.2.0-0-gdeadbee` with prefix `release-`), since parsing splits from the right.
pub fn from_git_describe(describe: &str, prefix: &str) -> Result<ImageVersion, VersionError> {
    let output = describe.trim();
    let (tag, distance) = split_describe(output, prefix).map_err(|reason| {
        let output = output.to_owned();
        VersionError::GitDescribe { output, reason }
    })?;
    let mut version = parse_semver(&tag[prefix.len()..])?;
    let patch = version.patch.checked_add(distance).filter(|p| *p <= MAX_PART);
    let tag = tag.to_owned();
    version.patch = patch.ok_or(VersionError::PatchOverflow { tag, distance })?;
    Ok(version)
}

/// Splits `<prefix><rest>-<distance>-g<sha>` into the tag and the distance.
fn split_describe<'a>(output: &'a str, prefix: &str) -> Result<(&'a str, u32), String> {
    let mut it = output.rsplitn(3, '-');
    let (Some(sha), Some(distance), Some(tag)) = (it.next(), it.next(), it.next()) else {
        return Err("expected '<tag>-<distance>-g<sha>'".into());
    };
    let hex = sha.strip_prefix('g').unwrap_or("");
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("'{sha}' is not an abbreviated commit like 'gabc1234'"));
    }
    let distance = distance.parse().map_err(|_| format!("'{distance}' is not a commit count"))?;
    if !tag.starts_with(prefix) {
        return Err(format!("tag '{tag}' does not start with prefix '{prefix}'"));
    }
    Ok((tag, distance))
}

/// Runs `git describe --tags --long --match '<prefix>[0-9]*'` in `repo_dir`.
///
/// Git runs with `LC_ALL=C` so its messages can be recognised. Shallow clones often lack
/// tags; they then fail with [`VersionError::NoMatchingTag`].
pub fn git_describe(repo_dir: &Path, prefix: &str) -> Result<String, VersionError> {
    let pattern = format!("{prefix}[0-9]*");
    let output = Command::new("git")
        .args(["describe", "--tags", "--long", "--match", &pattern])
        .current_dir(repo_dir)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => VersionError::GitNotFound,
            _ => VersionError::GitIo(e.to_string()),
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if stderr.contains("No names found") || stderr.contains("No tags can describe") {
        return Err(VersionError::NoMatchingTag { pattern });
    }
    let status = output.status.to_string();
    Err(VersionError::GitFailed { status, stderr })
}

/// Checks a tag prefix: not empty, no whitespace, no glob characters (it is used in `--match`).
fn validate_prefix(prefix: &str) -> Result<(), VersionError> {
    let reason = if prefix.is_empty() {
        "must not be empty"
    } else if prefix.chars().any(char::is_whitespace) {
        "must not contain whitespace"
    } else if prefix.contains(['*', '?', '[', ']', '\\']) {
        "must not contain glob characters (*?[]\\)"
    } else {
        return Ok(());
    };
    let prefix = prefix.to_owned();
    Err(VersionError::InvalidTagPrefix { prefix, reason })
}

/// How the image version of a build is chosen (parameter file key `strategy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "camelCase", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum VersionStrategy {
    /// `0.<yy><day-of-year>.<seconds-of-day>` from the caller's clock; see [`date_based`].
    ///
    /// Caveat: serde cannot deny unknown fields on a unit variant of an internally tagged
    /// enum, so extra keys next to `strategy: dateBased` are ignored.
    DateBased,
    /// A semver-looking `x.y.z` (optional leading `v`, no suffix). The parameter file's
    /// `version` wins; when absent, the command-line version is used.
    Semver {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    /// Derived from the nearest tag `<tagPrefix><x.y.z>` (default prefix `v`) plus the
    /// number of commits since it; see [`from_git_describe`] for the collision caveat.
    GitTag {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag_prefix: Option<String>,
    },
    /// A fixed version, exactly as the gallery expects it (`1.2.3`, no `v`).
    Explicit { version: String },
    /// Image Builder numbers the version when it distributes: one more than the newest version of
    /// the definition (with major `major`, when given): the distributor's `versioning` scheme
    /// `Latest`. The template then names no version, so one template of unchanged content serves
    /// every build.
    ///
    /// Caveat: the number is known only once the build has ended (from its run output).
    ImageBuilder {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        major: Option<u32>,
    },
}

/// What [`VersionStrategy::resolve`] may need from its environment.
#[derive(Debug, Clone, Copy)]
pub struct VersionInputs<'a> {
    /// The clock reading used by [`VersionStrategy::DateBased`].
    pub now: OffsetDateTime,
    /// The version given on the command line, used by `Semver` without a `version`.
    pub cli_version: Option<&'a str>,
    /// The git working tree used by `GitTag`.
    pub repo_dir: Option<&'a Path>,
}

impl VersionStrategy {
    /// The default git tag prefix.
    pub const DEFAULT_TAG_PREFIX: &'static str = "v";

    fn prefix(tag_prefix: &Option<String>) -> &str {
        tag_prefix.as_deref().unwrap_or(Self::DEFAULT_TAG_PREFIX)
    }

    /// Checks what can be checked offline: fixed versions parse and the tag prefix is sane.
    /// A `Semver` without `version` passes, since the command line may supply one.
    pub fn validate(&self) -> Result<(), VersionError> {
        match self {
            Self::DateBased | Self::Semver { version: None } | Self::ImageBuilder { .. } => Ok(()),
            Self::Semver { version: Some(v) } => parse_semver(v).map(drop),
            Self::Explicit { version } => version.parse::<ImageVersion>().map(drop),
            Self::GitTag { tag_prefix } => validate_prefix(Self::prefix(tag_prefix)),
        }
    }

    /// Produces the image version; `GitTag` runs `git` in `inputs.repo_dir`. `None` for
    /// [`VersionStrategy::ImageBuilder`], whose number Image Builder picks.
    pub fn resolve(&self, inputs: &VersionInputs) -> Result<Option<ImageVersion>, VersionError> {
        match self {
            Self::DateBased => Ok(Some(date_based(inputs.now))),
            Self::Semver { version } => {
                let v = version.as_deref().or(inputs.cli_version);
                parse_semver(v.ok_or(VersionError::MissingVersion)?).map(Some)
            }
            Self::GitTag { tag_prefix } => {
                let prefix = Self::prefix(tag_prefix);
                validate_prefix(prefix)?;
                let dir = inputs.repo_dir.ok_or(VersionError::MissingRepoDir)?;
                from_git_describe(&git_describe(dir, prefix)?, prefix).map(Some)
            }
            Self::Explicit { version } => version.parse().map(Some),
            Self::ImageBuilder { .. } => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use VersionStrategy as S;

    /// The version as a string, or `!` followed by the error message.
    fn show(r: Result<ImageVersion, VersionError>) -> String {
        r.map_or_else(|e| format!("!{e}"), |v| v.to_string())
    }

    /// Each case is `(input, expected version or '!' + part of the expected error)`.
    fn check(f: impl Fn(&str) -> Result<ImageVersion, VersionError>, cases: &[(&str, &str)]) {
        for (input, want) in cases {
            let got = show(f(input));
            let ok = match want.strip_prefix('!') {
                Some(msg) => got.starts_with('!') && got.contains(msg),
                None => got == *want,
            };
            assert!(ok, "{input}: got {got}, want {want}");
        }
    }

    fn inputs<'a>(cli_version: Option<&'a str>, repo_dir: Option<&'a Path>) -> VersionInputs<'a> {
        let now = datetime!(2024-11-17 15:31:24 UTC);
        VersionInputs { now, cli_version, repo_dir }
    }

    #[test]
    fn image_version_parsing_and_serde() {
        let part2 = "!part 2 ('99999999999') is larger than 2147483647";
        check(
            str::parse,
            &[
                ("1.2.3", "1.2.3"),
                ("01.2.003", "1.2.3"),
                ("2147483647.0.0", "2147483647.0.0"),
                ("1.2", "!expected three dot-separated numbers like 1.2.3"),
                ("1.2.3.4", "!expected three dot-separated numbers"),
                ("1..3", "!part 2 ('') is empty"),
                ("+1.2.3", "!part 1 ('+1') is not a non-negative integer"),
                ("1.-2.3", "!part 2 ('-2') is not a non-negative integer"),
                ("v1.2.3", "!part 1 ('v1') is not"),
                ("1.2.2147483648", "!part 3 ('2147483648') is larger"),
                ("1.99999999999.3", part2),
            ],
        );
        let v = |s: &str| s.parse::<ImageVersion>().unwrap();
        assert!(v("1.10.0") > v("1.9.9") && v("2.0.0") > v("1.99.99"));
        assert_eq!(serde_json::to_string(&v("1.2.3")).unwrap(), "\"1.2.3\"");
        assert_eq!(serde_json::from_str("\"01.2.3\"").ok(), Some(ImageVersion::new(1, 2, 3)));
        assert!(serde_json::from_str::<ImageVersion>("\"1.2\"").is_err());
    }

    #[test]
    fn semver_parsing() {
        check(
            parse_semver,
            &[
                ("v1.2.3", "1.2.3"),
                ("01.2.3", "1.2.3"),
                ("1.2.3-rc.1", "!three integers only"),
                ("v1.2.3+meta", "!three integers only"),
                ("1.2.3-rc.1+b5", "!pre-release or build suffixes"),
                ("1.2.-3", "!part 3 ('-3') is not a non-negative"),
                ("1.2.3000000000", "!is larger than 2147483647"),
                ("vv1.2.3", "!part 1 ('v1') is not"),
            ],
        );
    }

    #[test]
    fn date_based_edge_dates() {
        for (at, want) in [
            (datetime!(2024-11-17 15:31:24 UTC), "0.24322.55884"),
            (datetime!(2025-01-01 00:00:00 UTC), "0.25001.0"),
            (datetime!(2025-01-05 12:00:00 UTC), "0.25005.43200"),
            (datetime!(2025-12-31 23:59:59 UTC), "0.25365.86399"),
            (datetime!(2024-12-31 23:59:59 UTC), "0.24366.86399"),
            (datetime!(2024-02-29 00:00:00 UTC), "0.24060.0"),
            (datetime!(2000-01-01 00:00:00 UTC), "0.1.0"),
            (datetime!(2009-04-10 00:00:01 UTC), "0.9100.1"),
            // 00:30 on 1 March in UTC+2 is still 29 February in UTC.
            (datetime!(2024-03-01 00:30:00 +02:00), "0.24060.81000"),
            // 20:00 on 31 December in UTC-5 is already New Year in UTC.
            (datetime!(2024-12-31 20:00:00 -05:00), "0.25001.3600"),
        ] {
            assert_eq!(date_based(at).to_string(), want, "{at}");
        }
    }

    #[test]
    fn date_based_orders_one_second_apart() {
        for at in [
            datetime!(2024-11-17 15:31:24 UTC),
            datetime!(2024-11-17 23:59:59 UTC),
            datetime!(2024-12-31 23:59:59 UTC),
            datetime!(2025-03-01 00:59:59 +01:00),
        ] {
            let next = at + time::Duration::SECOND;
            assert!(date_based(at) < date_based(next), "{at} vs {next}");
        }
    }

    #[test]
    fn git_describe_parsing() {
        check(
            |s| from_git_describe(s, "v"),
            &[
                ("v1.4.0-0-gabc1234\n", "1.4.0"),
                ("v1.4.0-3-gabc1234", "1.4.3"),
                ("v01.4.9-11-gDEADBEEF", "1.4.20"),
                ("v1.4.0", "!expected '<tag>-<distance>-g<sha>'"),
                ("v1.4.0-x-gabc", "!'x' is not a commit count"),
                ("v1.4.0-1-abc", "!'abc' is not an abbreviated commit"),
                ("r1.4.0-1-gabc", "!'r1.4.0' does not start with prefix 'v'"),
                ("v1.4.0-rc1-2-gabc", "!three integers only"),
                ("v1.4.2147483647-1-gabc", "!plus 1 commits overflows"),
            ],
        );
        check(|s| from_git_describe(s, "release-"), &[("release-1.2.0-0-gdeadbee", "1.2.0")]);
        check(|s| from_git_describe(s, "a-b-"), &[("a-b-1.2.0-2-g1", "1.2.2")]);
    }

    #[test]
    fn strategy_serde() {
        let parse = |s: &str| serde_json::from_str::<S>(s).map_err(|e| e.to_string());
        assert_eq!(parse(r#"{"strategy":"dateBased"}"#), Ok(S::DateBased));
        let git = parse(r#"{"strategy":"gitTag","tagPrefix":"rel-"}"#);
        assert_eq!(git, Ok(S::GitTag { tag_prefix: Some("rel-".into()) }));
        let semver = S::Semver { version: None };
        assert_eq!(parse(r#"{"strategy":"semver"}"#), Ok(semver.clone()));
        assert_eq!(serde_json::to_string(&semver).unwrap(), r#"{"strategy":"semver"}"#);
        assert_eq!(parse(r#"{"strategy":"imageBuilder","major":1}"#), Ok(S::ImageBuilder { major: Some(1) }));
        assert!(parse(r#"{"strategy":"imageBuilder","major":-1}"#).is_err());
        assert!(parse(r#"{"strategy":"explicit"}"#).is_err());
        assert!(parse(r#"{"strategy":"gitTag","tag_prefix":"v"}"#).is_err());
        assert!(parse(r#"{"strategy":"explicit","version":"1.2.3","x":1}"#).is_err());
        assert!(parse(r#"{"strategy":"calendar"}"#).is_err());
        // Documented limitation: unit variants ignore unknown fields.
        assert_eq!(parse(r#"{"strategy":"dateBased","x":1}"#), Ok(S::DateBased));
    }

    #[test]
    fn validate_and_resolve() {
        let (cli, no_cli) = (inputs(Some("v2.0.1"), None), inputs(None, None));
        let explicit = |s: &str| S::Explicit { version: s.into() };
        let semver = |s: Option<&str>| S::Semver { version: s.map(Into::into) };
        let git = |p: Option<&str>| S::GitTag { tag_prefix: p.map(Into::into) };
        let numbered = |s: &VersionStrategy| show(s.resolve(&cli).and_then(|v| v.ok_or(VersionError::MissingVersion)));
        assert_eq!(numbered(&S::DateBased), "0.24322.55884");
        assert_eq!(numbered(&explicit("1.2.3")), "1.2.3");
        assert_eq!(numbered(&semver(Some("1.0.0"))), "1.0.0");
        assert_eq!(numbered(&semver(None)), "2.0.1");
        assert_eq!(S::ImageBuilder { major: Some(1) }.resolve(&cli), Ok(None), "Image Builder numbers it");
        assert!(S::ImageBuilder { major: None }.validate().is_ok());
        assert_eq!(semver(None).resolve(&no_cli), Err(VersionError::MissingVersion));
        assert_eq!(git(None).resolve(&cli), Err(VersionError::MissingRepoDir));
        assert!(explicit("v1.2.3").validate().is_err());
        assert!(semver(None).validate().is_ok() && git(None).validate().is_ok());
        assert!(semver(Some("1.0.0-rc.1")).validate().is_err());
        for bad in ["", "v ", "v*"] {
            let err = git(Some(bad)).validate();
            assert!(matches!(err, Err(VersionError::InvalidTagPrefix { .. })), "{bad:?}");
        }
    }

    #[test]
    fn git_describe_runs_git() {
        let dir = std::env::temp_dir().join(format!("agentpool-version-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = "-c user.name=t -c user.email=t@t -c commit.gpgsign=false -c tag.gpgsign=false";
        let git = |args: &[&str]| {
            let mut cmd = Command::new("git");
            cmd.args(cfg.split(' ')).args(args).current_dir(&dir);
            cmd.output().is_ok_and(|o| o.status.success())
        };
        assert!(git(&["init", "-q"]), "git is needed for the gitTag strategy and its test");
        assert!(git(&["commit", "-q", "--allow-empty", "-m", "a"]));
        let no_tag = git_describe(&dir, "v");
        assert!(matches!(no_tag, Err(VersionError::NoMatchingTag { .. })), "{no_tag:?}");
        assert!(git(&["tag", "v1.2.0"]) && git(&["commit", "-q", "--allow-empty", "-m", "b"]));
        let resolved = S::GitTag { tag_prefix: None }.resolve(&inputs(None, Some(&dir)));
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(resolved.map(|v| v.map(|v| v.to_string())), Ok(Some("1.2.1".to_owned())));
    }
}
