//! `agentpool nat plan`: the public addresses a NAT gateway needs for a pool's agents at 2,000
//! flows each, or the clear refusal when one gateway cannot carry them (exit 2).

use std::process::Command;

fn nat_plan(agents: u32) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_agentpool"))
        .args(["nat", "plan", "--max-agents", &agents.to_string(), "--flows-per-agent", "2000"])
        .output()
        .expect("agentpool runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

#[test]
fn addresses_for_pools_of_every_size_and_the_limit_of_one_gateway() {
    for (agents, needed) in [(10, "needed: 1 public IP address — natGateway.publicIpCount 1;"), (512, "needed: 16 public IP addresses — natGateway.publicIpCount 16, or publicIpPrefixLength 28 (16 addresses); they carry up to 512 agents")] {
        let (code, stdout, stderr) = nat_plan(agents);
        assert_eq!(code, Some(0), "{agents}: {stderr}");
        assert!(stdout.contains(needed), "{agents}: {stdout}");
    }
    for (agents, needed) in [(513, 17), (8_000, 250), (20_000, 625)] {
        let (code, stdout, stderr) = nat_plan(agents);
        assert_eq!(code, Some(2), "{agents}: {stdout}");
        assert!(stdout.is_empty());
        assert!(
            stderr.starts_with(&format!(
                "nat plan: {agents} agents at 2000 flows each need {needed} public addresses, but a NAT gateway takes at most 16 (512 agents at 2000 flows) — lower the agents' maximum to 512"
            )),
            "{stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    }
}
