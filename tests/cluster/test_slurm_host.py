"""The test SLURM itself: a batch job runs on it and nothing is left queued."""

from __future__ import annotations

from tests.cluster.slurm_host import SlurmHost, wait_for


def test_a_batch_job_runs_and_leaves_the_queue(slurm: SlurmHost) -> None:
    """sbatch runs a job on our node; it leaves squeue once done."""
    out = slurm.run("sbatch", "--parsable", "-c", "1", "--mem=100M", "--wrap", "true")
    job = out.strip().split(";")[0]
    assert job.isdigit(), out
    wait_for(lambda: job not in slurm.jobs(), 30, f"job {job} to finish")
    assert "idle" in slurm.run("sinfo", "-h", "-N", "-o", "%t")
