variable "topology" {
  type = object({
    regions = map(object({
      role           = string
      generation     = number
      vpc_cidr_block = string
    }))
    traffic      = string
    secrets_home = string
  })
  description = "The app's regions: each one's role (writer, replica or fenced), the generation of its database (raised to build a new one), its VPC range; the region customers are sent to; the region the shared secrets are written in."

  validation {
    condition     = length(var.topology.regions) == 2
    error_message = "topology must name exactly two regions: the writer and the one that can take over from it."
  }

  validation {
    condition     = length([for r in values(var.topology.regions) : r if r.role == "writer"]) == 1
    error_message = "topology must name exactly one writer region: two writers split the ledger, none stops every write."
  }

  validation {
    condition     = alltrue([for r in values(var.topology.regions) : contains(["writer", "replica", "fenced"], r.role)])
    error_message = "topology.regions[*].role must be writer, replica or fenced."
  }

  validation {
    condition     = contains(keys(var.topology.regions), var.topology.traffic) && try(var.topology.regions[var.topology.traffic].role == "writer", false)
    error_message = "topology.traffic must be the writer region: customers go where their writes are taken, never to a replica or a fenced region."
  }

  validation {
    condition     = contains(keys(var.topology.regions), var.topology.secrets_home)
    error_message = "topology.secrets_home must be one of topology.regions."
  }

  validation {
    condition     = alltrue([for name, r in var.topology.regions : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", name)) && r.generation >= 1 && floor(r.generation) == r.generation && can(cidrhost(r.vpc_cidr_block, 0))])
    error_message = "topology.regions must be keyed by AWS region names, with whole generations from 1 and IPv4 CIDR vpc_cidr_blocks."
  }

  validation {
    condition     = length(distinct([for r in values(var.topology.regions) : r.vpc_cidr_block])) == length(var.topology.regions)
    error_message = "topology.regions must not share a vpc_cidr_block (they may be peered one day)."
  }
}
