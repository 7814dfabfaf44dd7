"""The five queue interfaces."""
