"""The local runtime: the manifest's functions served on this machine, triggered as on AWS."""
