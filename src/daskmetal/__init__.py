"""daskmetal: operate the platform through ansible-runner."""
