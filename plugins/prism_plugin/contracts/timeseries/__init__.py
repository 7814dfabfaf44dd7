"""The four time-series interfaces."""
