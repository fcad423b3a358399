"""Recording fakes of outside services that speak their real protocols, for tests and demos."""
