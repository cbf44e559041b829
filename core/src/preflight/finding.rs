//! What preflight found: one line per finding, `<file>: <what> — <fix>`, all of them at once.

use std::fmt;

/// Whether a finding stops a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The deploy or the build would fail: preflight exits 2.
    Blocking,
    /// Preflight could not decide (a read failed, a quota family is unknown): shown, not blocking.
    Warning,
}

/// Which check a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    Providers,
    ImageBuilder,
    Permissions,
    VmSizes,
    Quota,
    Network,
}

/// One problem, with its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    /// What is wrong, e.g. `resource provider Microsoft.VirtualMachineImages is NotRegistered`.
    pub what: String,
    /// How to fix it, e.g. `az provider register --namespace Microsoft.VirtualMachineImages`.
    pub fix: String,
}

impl Finding {
    pub fn blocking(check: Check, what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { check, severity: Severity::Blocking, what: what.into(), fix: fix.into() }
    }

    pub fn warning(check: Check, what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { check, severity: Severity::Warning, what: what.into(), fix: fix.into() }
    }

    /// The finding's line for the parameter file `file`.
    pub fn line(&self, file: &str) -> String {
        let mark = match self.severity {
            Severity::Blocking => "",
            Severity::Warning => "warning: ",
        };
        format!("{file}: {mark}{} — {}", self.what, self.fix)
    }
}

/// Every finding of one preflight run, blocking ones first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The parameter file's display name, the start of each line.
    pub file: String,
    pub findings: Vec<Finding>,
    /// Reads sent to Azure.
    pub reads: u64,
}

impl Report {
    pub fn new(file: &str, mut findings: Vec<Finding>, reads: u64) -> Self {
        findings.sort_by_key(|finding| (finding.severity, finding.check));
        Self { file: file.to_owned(), findings, reads }
    }

    /// True when nothing blocks.
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Blocking)
    }

    pub fn blocking(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Blocking)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Warning)
    }
}

impl fmt::Display for Report {
    /// One line per finding, blocking ones first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.findings.iter().map(|finding| finding.line(&self.file)).collect();
        f.write_str(&lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_findings_come_first_and_decide_the_outcome() {
        let report = Report::new(
            "sbx.parameters.linux.json",
            vec![
                Finding::warning(Check::Quota, "the quota family of Standard_X1 is unknown", "check it"),
                Finding::blocking(
                    Check::Providers,
                    "resource provider Microsoft.VirtualMachineImages is NotRegistered",
                    "az provider register --namespace Microsoft.VirtualMachineImages",
                ),
            ],
            9,
        );
        assert!(!report.passed());
        assert_eq!(
            report.to_string(),
            "sbx.parameters.linux.json: resource provider Microsoft.VirtualMachineImages is NotRegistered — az provider register --namespace Microsoft.VirtualMachineImages\n\
             sbx.parameters.linux.json: warning: the quota family of Standard_X1 is unknown — check it"
        );
        let only_warnings = Report::new("f.json", vec![Finding::warning(Check::Quota, "a", "b")], 1);
        assert!(only_warnings.passed());
    }
}
