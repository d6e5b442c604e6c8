//! The `strata` binary as users meet it: unbuilt components say so and exit 2, `local` prepares
//! a bucket, and the backfill rejects bad input with a line number while uploading nothing.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn strata() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

#[test]
fn unbuilt_components_say_so_and_exit_2() {
    for c in [
        "query",
        "receive",
        "sidecar",
        "rule",
        "compact",
        "downsample",
        "query-frontend",
    ] {
        let out = strata().args([c, "--some.flag=1"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{c}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not built yet"), "{c}: {err}");
    }
}

#[test]
fn local_prepares_a_bucket_and_lists_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = strata()
        .args(["local", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("bucket").is_dir());
    let cfg = std::fs::read_to_string(data.join("bucket.yml")).unwrap();
    assert!(cfg.contains("FILESYSTEM"), "{cfg}");

    // The written config is usable by the tools: backfill into it and list it.
    let om = tmp.path().join("in.om");
    std::fs::write(
        &om,
        "# TYPE up gauge\nup{job=\"a\"} 1 1700000000.5\nup{job=\"a\"} 0 1700000015.5\n# EOF\n",
    )
    .unwrap();
    let out = strata()
        .args([
            "tools",
            "bucket",
            "backfill",
            "--label",
            "cluster=local",
            "--objstore.config-file",
        ])
        .arg(data.join("bucket.yml"))
        .arg(&om)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = strata()
        .args([
            "tools",
            "bucket",
            "ls",
            "-o",
            "json",
            "--objstore.config-file",
        ])
        .arg(data.join("bucket.yml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    let meta: serde_json::Value = serde_json::from_str(listing.lines().next().unwrap()).unwrap();
    assert_eq!(meta["minTime"], 1_700_000_000_500i64);
    assert_eq!(meta["maxTime"], 1_700_000_015_501i64);
    assert_eq!(meta["stats"]["numSamples"], 2);
    assert_eq!(meta["thanos"]["labels"]["cluster"], "local");
}

#[test]
fn bad_backfill_input_is_reported_and_nothing_is_uploaded() {
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    let cfg = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {:?}\n",
        bucket.display().to_string()
    );
    let om = tmp.path().join("bad.om");
    std::fs::write(
        &om,
        "up{job=\"a\"} 1 1700000000\nup{job=\"a\" 1 1700000015\n",
    )
    .unwrap();
    let out = strata()
        .args([
            "tools",
            "bucket",
            "backfill",
            "--label",
            "a=b",
            "--objstore.config",
            &cfg,
        ])
        .arg(&om)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
    let uploaded = std::fs::read_dir(&bucket).map(|d| d.count()).unwrap_or(0);
    assert_eq!(uploaded, 0, "nothing uploaded");

    // No external labels: refused with the reason.
    let out = strata()
        .args(["tools", "bucket", "backfill", "--objstore.config", &cfg])
        .arg(&om)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--label"));

    // An unknown objstore type names the supported ones.
    let out = strata()
        .args([
            "tools",
            "bucket",
            "ls",
            "--objstore.config",
            "type: FTP\nconfig: {}\n",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FTP") && err.contains("S3"), "{err}");
}
