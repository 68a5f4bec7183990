"""The ``launchpad`` command line: the launcher, the commands, the render daemon and the hosted
service's client."""
