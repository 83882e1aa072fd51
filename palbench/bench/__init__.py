"""The harness's work: a config as a grid of cells (config, seeds), one cell run start to end
(loop, with its ledger, evaluation and thread pinning), where cells run (lockstep groups, the
worker checks, the process pool, Ray), the session that runs a plan into a store, robustness
studies."""
