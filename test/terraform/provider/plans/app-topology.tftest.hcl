# terraform/modules/app-topology: what the app roots derive from terraform/app-topology.yaml, and
# the topologies it refuses before anything is planned.

variables {
  topology = {
    regions = {
      us-east-1 = { role = "writer", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
      us-west-2 = { role = "replica", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
    }
    traffic      = "us-east-1"
    secrets_home = "us-east-1"
  }
}

run "derives_the_writer_peers_and_region_codes" {
  command = plan

  assert {
    condition     = output.writer == "us-east-1" && output.traffic == "us-east-1" && output.peers == { us-east-1 = "us-west-2", us-west-2 = "us-east-1" }
    error_message = "One writer, traffic there, each region's peer."
  }

  assert {
    condition     = output.codes == { us-east-1 = "use1", us-west-2 = "usw2" }
    error_message = "Short codes for names."
  }
}

run "the_committed_topology_is_valid" {
  command = plan

  variables {
    topology = yamldecode(file("../../app-topology.yaml"))
  }

  assert {
    condition     = output.writer == "us-east-1" && output.regions["us-west-2"].role == "replica"
    error_message = "terraform/app-topology.yaml: us-east-1 writes, us-west-2 replicates."
  }
}

run "refuses_two_writers" {
  command = plan

  variables {
    topology = {
      regions = {
        us-east-1 = { role = "writer", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "writer", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-east-1"
      secrets_home = "us-east-1"
    }
  }

  expect_failures = [var.topology]
}

run "refuses_traffic_to_a_region_that_does_not_write" {
  command = plan

  variables {
    topology = {
      regions = {
        us-east-1 = { role = "fenced", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "writer", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-east-1"
      secrets_home = "us-east-1"
    }
  }

  expect_failures = [var.topology]
}

run "refuses_a_topology_without_a_writer" {
  command = plan

  variables {
    topology = {
      regions = {
        us-east-1 = { role = "fenced", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "replica", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-west-2"
      secrets_home = "us-east-1"
    }
  }

  expect_failures = [var.topology]
}
