"""The reproduce script end to end on tiny overrides, the runtime bench, and the report writer."""

from pathlib import Path

import pytest

from minrnn.bench import runtime
from minrnn.reproduce import minrnn_paper
from minrnn.reproduce.report import md_table
from minrnn.tasks.selective_copy import SelectiveCopyConfig

TINY = dict(steps=2, eval_batches=1, eval_batch_size=4, batch_size=4, d_model=16, seq_len=24, n_tokens=4,
            expansion=1.0, eval_lengths=[41], eval_episodes=1, max_ep_steps=5, warmup_steps=1,
            block_size=16, eval_every=1, n_layers=1)


def test_md_table():
    assert md_table(["a", "b"], [[1, 2]]).splitlines() == ["| a | b |", "|---|---|", "| 1 | 2 |"]
    with pytest.raises(ValueError):
        md_table(["a"], [[1, 2]])


def test_runtime_bench(tmp_path):
    rows = runtime.run(models=("mingru", "gru_loop"), batch=2, hidden=8, lengths=(8, 16), repeats=1,
                       progress=False)
    assert len(rows) == 4 and all(r["time_ms"] > 0 and r["mem_bytes"] > 0 for r in rows)
    assert "mingru/gru_loop@16" in runtime.speedups(rows)
    assert runtime.main(["--models", "minlstm", "lstm_loop", "--lengths", "8", "--batch", "2",
                         "--hidden", "8",
                         "--repeats", "1", "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "runtime.csv").exists() and (tmp_path / "runtime.png").exists()


def test_plan_covers_paper():
    cpu = minrnn_paper.plan("selective_copy", "cpu")
    assert {c["mixer"] for c in cpu} == {"mingru", "minlstm", "mamba"}
    gpu = [SelectiveCopyConfig(**{k: v for k, v in c.items() if k != "group"})
           for c in minrnn_paper.plan("selective_copy", "gpu")]
    assert all(c.seq_len == 4096 and c.steps == 400_000 and c.d_model == 64 for c in gpu)
    assert len({c["task"] for c in minrnn_paper.plan("chomsky", "cpu")}) == 7
    rl = minrnn_paper.plan("rl", "cpu")
    assert {c["mixer"] for c in rl} == {"mingru", "minlstm", "aaren", "transformer", "mamba"}
    assert len({(c["env"], c["dataset"]) for c in rl}) == 6
    with pytest.raises(ValueError, match="exp"):
        minrnn_paper.plan("nope", "cpu")


def test_reproduce_writes_report(tmp_path, data_dir):
    for exp in ("selective_copy", "shakespeare", "chomsky", "rl"):
        minrnn_paper.run_experiment(exp, "cpu", tmp_path, limit=1, overrides=TINY)
    minrnn_paper.run_experiment("runtime", "cpu", tmp_path, overrides=dict(lengths=[8], batch=2, hidden=8,
                                                                            repeats=1))
    md = minrnn_paper.write_report(tmp_path).read_text()
    for title in ("Selective copying", "Shakespeare", "Formal languages", "Offline RL", "runtime"):
        assert title in md
    assert "99.5" in md                                        # paper number beside ours
    assert (tmp_path / "data" / "rl.json").exists()
    assert Path(tmp_path / "minrnn_selective_copy.png").exists()


def test_merge_extra_seeds(tmp_path):
    tiny = dict(TINY, seed=0)
    minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path / "a", limit=1, overrides=tiny)
    minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path / "b", limit=1,
                                overrides=dict(tiny, seed=5))
    wall_a = minrnn_paper.load_json(tmp_path / "a" / "data" / "minrnn_selective_copy.json")["wall_time_s"]
    merged = minrnn_paper.merge_runs("selective_copy", tmp_path / "a", [tmp_path / "b", tmp_path / "b"])
    assert sorted(r["config"]["seed"] for r in merged["runs"]) == [0, 5]
    run_b = next(r for r in merged["runs"] if r["config"]["seed"] == 5)
    assert merged["wall_time_s"] == pytest.approx(wall_a + run_b["wall_time_s"])  # the added run only, once
    assert [m["runs_added"] for m in merged["merged_from"]] == [1]  # the folder given twice is merged once
    again = minrnn_paper.merge_runs("selective_copy", tmp_path / "a", [tmp_path / "b"])
    assert len(again["runs"]) == 2 and again["wall_time_s"] == pytest.approx(merged["wall_time_s"])


def test_merge_without_only_takes_what_both_folders_have(tmp_path, capsys):
    minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path / "a", limit=1, overrides=TINY)
    minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path / "b", limit=1, overrides=dict(TINY, seed=5))
    assert minrnn_paper.main(["--out-dir", str(tmp_path / "a"), "--merge", str(tmp_path / "b")]) == 0
    assert "merged selective_copy" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--merge: no experiment has saved runs"):
        minrnn_paper.main(["--out-dir", str(tmp_path / "a"), "--merge", str(tmp_path / "nowhere")])


def test_where_matching_nothing_leaves_saved_runs_alone(tmp_path, capsys):
    minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path, limit=2, overrides=TINY)
    path = tmp_path / "data" / "minrnn_selective_copy.json"
    before = path.read_text()
    assert minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path, overrides=TINY,
                                       where={"mixer": "mingur"}) is None
    assert minrnn_paper.run_experiment("runtime", "cpu", tmp_path, where={"mixer": "mamba"}) is None
    assert "no planned config matches" in capsys.readouterr().out
    assert path.read_text() == before


def test_where_reruns_the_selection_and_keeps_the_other_saved_runs(tmp_path):
    first = minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path, limit=2, overrides=TINY)
    assert [r["config"]["seed"] for r in first["runs"]] == [0, 1]
    again = minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path, limit=1, overrides=TINY,
                                        where={"mixer": "mingru", "seed": 1})
    assert [r["config"]["seed"] for r in again["runs"]] == [0, 1]
    assert again["runs"][0] == first["runs"][0] and again["runs"][1] != first["runs"][1]
    # a plan group filter matches runs saved without a group (they are "main")
    assert minrnn_paper._matches({"mixer": "mingru"}, {"group": "main"})
    assert not minrnn_paper._matches({"mixer": "mingru", "group": "long"}, {"group": "main"})


def test_resume_runs_only_the_missing_configs(tmp_path, capsys):
    first = minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path, limit=1, overrides=TINY)
    assert len(first["runs"]) == 1
    again = minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path, limit=2, overrides=TINY, resume=True)
    assert len(again["runs"]) == 2 and again["runs"][0] == first["runs"][0]
    assert "saved already (--resume)" in capsys.readouterr().out
    fresh = minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path, limit=1, overrides=TINY)
    assert len(fresh["runs"]) == 1  # without --resume the experiment starts over


def test_selective_copy_long_runs_get_their_own_table(tmp_path):
    from minrnn.reproduce.sections import _selective_copy

    base = dict(seq_len=64, n_tokens=8, vocab=16, d_model=64, expansion=2.0, dropout=0.1, lr=3e-3, batch_size=32,
                grad_clip=1.0, steps=500, eval_batches=20, eval_batch_size=64, eval_every=0, n_layers=3, seed=0)
    runs = [{"config": dict(base, mixer=m), "accuracy": a, "group": "main", "wall_time_s": 60,
             "train": {"evals": [{"step": 500, "accuracy": a}]}} for m, a in (("mingru", 0.4), ("minlstm", 0.5))]
    runs.append({"config": dict(base, mixer="mingru", steps=5000, eval_every=500), "accuracy": 0.9,
                 "group": "long", "wall_time_s": 600,
                 "train": {"evals": [{"step": 500, "accuracy": 0.4}, {"step": 5000, "accuracy": 0.9}]}})
    d = {"scale": "cpu", "runs": runs, "wall_time_s": 1, "machine": {
        "cpu": "x", "cpu_count": 2, "torch": "2", "torch_threads": 1, "date_utc": "now"}}
    md = _selective_copy(d, tmp_path)
    assert "**Longer training**" in md and "| step 500 | step 5000 |" in md
    assert "After 5000 steps: minGRU 90.0% (1 seed)" in md
    assert "| minGRU | 3 | 40.0 ± 0.0 | 1 |" in md  # the long run stays out of the main table
    assert "40.0 (1 seed)" in md  # ... and out of the 3-layer ablation cell


def test_shakespeare_long_runs_get_their_own_table(tmp_path):
    from minrnn.reproduce.sections import _shakespeare

    base = dict(d_model=64, n_layers=2, conv_kernel=4, block_size=64, batch_size=32, lr=2e-3, warmup_steps=20,
                dropout=0.0, steps=600, eval_every=50, eval_batches=8, seed=0)

    def run(m, loss, steps=600, group=None):
        r = {"config": dict(base, mixer=m, steps=steps), "best_val_loss": loss, "best_step": steps,
             "steps_done": steps, "train_wall_s": 60.0, "tokens_per_s": 1e4, "n_params": 1000,
             "val_curve": [[steps, loss]]}
        return dict(r, group=group) if group else r

    runs = [run("mingru", 1.98), run("transformer", 1.90), run("mingru", 1.70, 3000, "long"),
            run("transformer", 1.66, 3000, "long")]
    d = {"scale": "cpu", "runs": runs, "wall_time_s": 1, "machine": {
        "cpu": "x", "cpu_count": 2, "torch": "2", "torch_threads": 1, "date_utc": "now"}}
    md = _shakespeare(d, tmp_path)
    assert "| minGRU | 1 | 1.980 ± 0.000 |" in md  # the main table holds the 600-step runs only
    assert "| minGRU | 0 | 1.980 (1 seed) | 1.700 (1 seed) | 3000 |" in md
    assert "Spread of the means after 3000 steps: 0.040 nats/char (Transformer best, minGRU worst)." in md


def test_shakespeare_matched_runs_beside_the_long_ones(tmp_path):
    from minrnn.reproduce.sections import _shakespeare

    def run(m, loss, group, expansion=1.0, n_params=1000):
        return {"config": dict(mixer=m, seed=0, steps=3000, expansion=expansion), "best_val_loss": loss,
                "best_step": 3000, "steps_done": 3000, "train_wall_s": 120.0, "n_params": n_params,
                "group": group}

    runs = [run("mingru", 1.70, "long", n_params=92), run("transformer", 1.63, "long", n_params=108),
            run("mingru", 1.66, "matched", 1.3125, 108)]
    d = {"scale": "cpu", "runs": runs, "wall_time_s": 1, "machine": {
        "cpu": "x", "cpu_count": 2, "torch": "2", "torch_threads": 1, "date_utc": "now"}}
    md = _shakespeare(d, tmp_path)
    assert "**Parameters matched**" in md and "Transformer 1.630 (1 seed) (108 parameters)" in md
    assert "| minGRU | 1.3125 | 108 | 1.660 (1 seed) | 1.700 (1 seed) (92) | 2 |" in md
    assert "minGRU +0.070 at expansion 1, +0.030 matched." in md
    assert "| minGRU | 0 | — | 1.660" not in md  # the matched run stays out of the long table
    second = [dict(r, config=dict(r["config"], seed=1), best_val_loss=r["best_val_loss"] + 0.02) for r in runs]
    md = _shakespeare(dict(d, runs=runs + second), tmp_path)
    assert "| minGRU | 1.3125 | 108 | 1.670 ± 0.014 (2 seeds) | 1.710 ± 0.014 (2 seeds) (92) | 2 |" in md
    assert "| minGRU | 0/1 | — | 1.710 ± 0.014 (2 seeds) |" in md


def test_shakespeare_section_with_only_long_runs(tmp_path):
    from minrnn.reproduce.sections import _shakespeare

    r = {"config": dict(mixer="mingru", seed=0, steps=3000), "best_val_loss": 1.7, "best_step": 3000,
         "steps_done": 3000, "train_wall_s": 60.0, "group": "long"}
    d = {"scale": "cpu", "runs": [r], "wall_time_s": 1, "machine": {
        "cpu": "x", "cpu_count": 2, "torch": "2", "torch_threads": 1, "date_utc": "now"}}
    md = _shakespeare(d, tmp_path)
    assert "| minGRU | 0 | — | 1.700 (1 seed) | 3000 |" in md


def test_chomsky_long_runs_get_their_own_table(tmp_path):
    from minrnn.reproduce.sections import _chomsky

    base = dict(d_model=64, n_layers=2, expansion=1.0, batch_size=32, lr=2e-3, steps=500, train_min_len=1,
                train_max_len=40, eval_lengths=[40, 80], eval_batch_size=64, seed=0)

    def run(task, m, norm, steps=500, group=None):
        r = {"config": dict(base, task=task, mixer=m, steps=steps), "normalized": norm,
             "in_distribution_accuracy": 0.9, "accuracy": 0.5, "wall_time_s": 1.0}
        return dict(r, group=group) if group else r

    runs = [run("parity_check", "minlstm", 0.2), run("even_pairs", "minlstm", 0.4),
            run("parity_check", "minlstm", 0.6, 2500, "long"), run("even_pairs", "minlstm", 1.0, 2500, "long")]
    d = {"scale": "cpu", "runs": runs, "wall_time_s": 1, "machine": {
        "cpu": "x", "cpu_count": 2, "torch": "2", "torch_threads": 1, "date_utc": "now"}}
    md = _chomsky(d, tmp_path)
    assert "| **average** | **0.30** |" in md and "| **average** | **0.80** |" in md
    assert "main runs -> 2500 steps: minLSTM 0.30 -> 0.80." in md
    only_long = _chomsky(dict(d, runs=runs[2:]), tmp_path)
    assert "**Longer training**" in only_long


def test_where_with_limit_replaces_only_the_runs_it_reruns(tmp_path):
    minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path, limit=2, overrides=TINY)  # mingru seeds 0, 1
    again = minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path, limit=1, overrides=TINY,
                                        where={"mixer": "mingru"})  # reruns seed 0 only
    assert sorted(r["config"]["seed"] for r in again["runs"]) == [0, 1]
