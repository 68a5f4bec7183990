"""Updating a project to a newer version of its template: update jobs (a patch and its
conflicts, or a pull request on the project's forge repository) and the fleet's
"would it conflict" answers."""
