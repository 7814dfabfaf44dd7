"""The four set interfaces."""
