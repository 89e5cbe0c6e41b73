"""Configuration: settings from the environment, the registry file, the errors they raise."""
