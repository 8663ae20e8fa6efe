// Shows the "+ phone" link in the dashboard's bar when the hub runs with --phones.
"use strict";
fetch("/api/phones", { cache: "no-store" }).then((r) => {
  if (r.ok) document.getElementById("phones-link").hidden = false;
}).catch(() => {});
