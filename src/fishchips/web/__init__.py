"""The shop in the browser: one live shop served to every tab (fishchips web)."""
