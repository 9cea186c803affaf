"""The classroom: students join the teacher's shop from their own laptops, each with a SCRAM user of their own."""
