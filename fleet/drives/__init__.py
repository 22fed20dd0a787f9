"""The fiscal drive's lifecycle: reported history, replacement forecast, regime rules, purchase."""
