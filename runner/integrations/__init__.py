"""Adapters between this package and the SMBO libraries users already drive: SMAC3 both ways
(``runner.integrations.smac``), Optuna (``.optuna``) and adaptive (``.adaptive``). Nothing is
imported here: each submodule imports its library when it is imported (install its extra)."""
