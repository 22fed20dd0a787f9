"""The HIL bench: the drive contract suite over any link, traces and the runner."""
