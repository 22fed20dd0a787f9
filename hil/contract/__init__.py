"""The drive contract suite: the same tests over the simulator and a real drive."""
