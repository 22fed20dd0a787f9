"""The web console's shared pieces: page rendering, layout, navigation."""
