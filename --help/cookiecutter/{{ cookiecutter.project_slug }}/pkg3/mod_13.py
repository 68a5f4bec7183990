# {{ cookiecutter.project_name }} - module 13
# Author: {{ cookiecutter.author }} <{{ cookiecutter.email }}>
{% if cookiecutter.use_docker == 'yes' %}# Container image: {{ cookiecutter.project_slug }}:latest
{% endif %}
"""{{ cookiecutter.description }}"""

VERSION = "{{ cookiecutter.version }}"

{% for n in range(8) %}
def handler_{{ n }}_13(request):
    """Handle route {{ n }} of {{ cookiecutter.project_slug }}."""
    return {"module": 13, "route": {{ n }}, "app": "{{ cookiecutter.project_slug | upper }}"}
{% endfor %}
