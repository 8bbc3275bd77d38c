"""Many runs of a scenario: replicates, summaries, sweeps, sensitivity, calibration, resource
checks and atomic result files."""
