"""The five stream interfaces."""
