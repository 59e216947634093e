"""The Pulumi program that deploys eventlens to AWS (run: ``__main__.py``; tests: ``stack.deploy``)."""
