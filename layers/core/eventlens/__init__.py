"""The runtime package shipped in the Lambda layer: what handlers import, and nothing else."""
