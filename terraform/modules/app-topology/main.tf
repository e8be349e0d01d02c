# The app's regions and what each one is: the writer (its database takes writes, its tasks
# serve), a replica (a read replica of the writer's database and warm tasks), or fenced (a former
# writer that lost a failover: no tasks, no connection to its database, which waits to be
# replaced). terraform/app-topology.yaml says it for every app root; this module checks it once
# and derives what each root needs, so the roots cannot disagree about who writes.

locals {
  regions = var.topology.regions
  writer  = one([for name, r in local.regions : name if r.role == "writer"])

  # Short region codes for names: us-east-1 -> use1, ap-southeast-2 -> apse2.
  codes = {
    for name in keys(local.regions) : name => join("", [
      split("-", name)[0],
      replace(replace(replace(replace(replace(split("-", name)[1], "north", "n"), "south", "s"), "east", "e"), "west", "w"), "central", "c"),
      split("-", name)[2],
    ])
  }
}
