// Follows the page's "continue" link (to the payment provider) at once.
const link = document.getElementById("continue");
if (link) window.location.replace(link.href);
