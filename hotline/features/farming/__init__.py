"""Agriculture (issue 22): the farmer registry, farm reports to the desa's field officer (PPL), outbreak watch."""
