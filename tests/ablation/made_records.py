"""Hand-made run records and sweeps for the ablation tests, whose answers the tests compute by hand."""

SEEDS = (0, 1, 2)

# A small sweep file's content: 3 activations (one a control) x 2 widths x 3 seeds.
DEMO_SWEEP = {
    "name": "demo",
    "seeds": [0, 1, 2],
    "baseline": "gelu",
    "overrides": {"trainer.max_epochs": 2},
    "axes": {
        "operator": ["fno"],
        "activation": ["gelu", "relu_nobias", "identity"],
        "model.width": [8, 16],
    },
}


def record(activation, seed, metrics, operator="fno"):
    """A finished main-phase run of ``activation`` under ``operator``."""
    return {"run_id": f"{operator}__{activation}__seed{seed}", "phase": "main", "status": "finished", "seed": seed,
            "factors": {"operator": operator, "activation": activation}, "metrics": metrics}


def figure_record(activation, seed, **metrics):
    """A finished run with only an activation factor and mode cutoff 4, for the report's figures and tables."""
    return {"run_id": f"{activation}__seed{seed}", "status": "finished", "seed": seed,
            "factors": {"activation": activation}, "metrics": {"mode_cutoff": 4, **metrics}}


def dynamics(times, epochs=5):
    """A dynamics table where shell k has error 1 before epoch times[k] and 0.1 from then on
    (None: a shell empty in the target), so time-to-learn (within 2x the final error) is times[k]."""
    error = [[None if t is None else (1.0 if epoch < t else 0.1) for t in times] for epoch in range(epochs)]
    return {"epoch": list(range(epochs)), "wavenumber": list(range(len(times))), "error": error,
            "target_energy": [0.0 if t is None else 1.0 for t in times]}
