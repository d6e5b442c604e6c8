//! Parses every file of the upstream corpus (`../shared/promqltest/*.test`) and prints, per
//! file, the number of eval commands and how many the default options would skip, and why.

use std::collections::BTreeMap;

use strata_promqltest::{
    Command, EvalKind, Expected, RunOptions, corpus_dir, corpus_files, file_needs, parse_script,
};

#[test]
fn parses_every_corpus_file() {
    let Some(dir) = corpus_dir() else {
        eprintln!(
            "\n*** SKIPPED: ../shared/promqltest not found (set STRATA_PROMQLTEST_DIR) ***\n"
        );
        return;
    };
    let files = corpus_files(&dir).expect("list corpus");
    let opts = RunOptions::default();
    let mut errors = Vec::new();
    let mut totals = (0usize, 0usize, 0usize, 0usize);
    let mut all_reasons: BTreeMap<String, usize> = BTreeMap::new();
    for path in &files {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = String::from_utf8_lossy(&std::fs::read(path).expect("read")).into_owned();
        let script = match parse_script(&text) {
            Ok(s) => s,
            Err(e) => {
                errors.push(format!("{name}: {e}"));
                continue;
            }
        };
        let whole = file_needs(&name);
        let (mut evals, mut instant, mut fail, mut skipped) = (0, 0, 0, 0);
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for cmd in &script.commands {
            let Command::Eval(ev) = cmd else { continue };
            evals += 1;
            if matches!(ev.kind, EvalKind::Instant { .. }) {
                instant += 1;
            }
            if ev.fail.is_some() {
                fail += 1;
            }
            if let Expected::Scalar(_) = ev.expected {
                assert!(
                    matches!(ev.kind, EvalKind::Instant { .. }),
                    "{name}:{} scalar in range eval",
                    ev.line
                );
            }
            if let Some(n) = opts.skip_reason(whole.iter().chain(&ev.needs)) {
                skipped += 1;
                *reasons.entry(n.reason.clone()).or_default() += 1;
            }
        }
        eprintln!(
            "{name}: {evals} evals ({instant} instant / {} range, {fail} expect fail), {skipped} skipped, {} runnable",
            evals - instant,
            evals - skipped
        );
        for (r, n) in &reasons {
            eprintln!("    {n:>4}  {r}");
            *all_reasons.entry(r.clone()).or_default() += n;
        }
        totals.0 += evals;
        totals.1 += skipped;
        totals.2 += instant;
        totals.3 += fail;
    }
    eprintln!(
        "TOTAL: {} files, {} evals ({} instant, {} expect fail), {} skipped, {} runnable",
        files.len(),
        totals.0,
        totals.2,
        totals.3,
        totals.1,
        totals.0 - totals.1
    );
    for (r, n) in &all_reasons {
        eprintln!("    {n:>4}  {r}");
    }
    assert!(errors.is_empty(), "parse errors:\n{}", errors.join("\n"));
}

/// Debug aid: `PROMQLTEST_DUMP=functions.test cargo test -p strata-promqltest --test corpus
/// dump -- --nocapture` lists every eval of that file with its classification.
#[test]
fn dump() {
    let (Some(dir), Ok(file)) = (corpus_dir(), std::env::var("PROMQLTEST_DUMP")) else {
        return;
    };
    let text = std::fs::read_to_string(dir.join(&file)).expect("read");
    let script = parse_script(&text).expect("parse");
    for cmd in &script.commands {
        if let Command::Eval(ev) = cmd {
            let needs: Vec<&str> = ev.needs.iter().map(|n| n.reason.as_str()).collect();
            eprintln!("{:>5} {:<70} {}", ev.line, ev.expr, needs.join(" | "));
        }
    }
}

/// An engine that fails every query: only `expect fail` evals without a message can pass.
struct FailingEngine;

impl strata_promqltest::TestEngine for FailingEngine {
    fn load(&mut self, _series: &[strata_promqltest::LoadedSeries]) {}
    fn clear(&mut self) {}
    fn instant(&mut self, _e: &str, _t: i64) -> Result<strata_promqltest::Value, String> {
        Err("not implemented".to_string())
    }
    fn range(
        &mut self,
        _e: &str,
        _s: i64,
        _e2: i64,
        _st: i64,
    ) -> Result<strata_promqltest::Value, String> {
        Err("not implemented".to_string())
    }
}

#[test]
fn runs_corpus_against_failing_engine() {
    let Some(dir) = corpus_dir() else {
        eprintln!("\n*** SKIPPED: ../shared/promqltest not found ***\n");
        return;
    };
    for path in corpus_files(&dir).expect("list") {
        let report = strata_promqltest::run_file(&path, &mut FailingEngine);
        assert_eq!(report.error, None, "{report}");
        let text = std::fs::read_to_string(&path).expect("read");
        let script = parse_script(&text).expect("parse");
        let evals = script
            .commands
            .iter()
            .filter(|c| matches!(c, Command::Eval(_)))
            .count();
        assert_eq!(report.ran() + report.skipped.len(), evals);
        let fail_any = script
            .commands
            .iter()
            .filter(|c| matches!(c, Command::Eval(e) if e.fail == Some(strata_promqltest::MsgMatch::Any)))
            .count();
        assert!(report.passed <= fail_any, "{report}");
    }
}
