"""What every feature uses and that depends on no feature: the RQ queue and Redis connection (`queue`), the
writing of deadlines (`deadlines`), SMS gateway configuration (`gateway_config`), secret checks (`secret_strength`).
`hotline.settings`, `hotline.db`, `hotline.clock`, `hotline.models`, `hotline.cityconfig` and `hotline.ivr` sit
beside it in the bottom layer (docs/architecture.md, "The map")."""
