"""eventlens' tooling: the ``eventlens`` command, the local runtime, the demo, the generators and the
packager. It imports the runtime package ``eventlens``; nothing there imports this package, and it is
never packed into the Lambda layer."""
