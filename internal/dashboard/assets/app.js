// Progressive enhancement: a copy button beside each ready-to-copy slash
// command. The page works without it.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("pre.copy").forEach(function (pre) {
    if (!navigator.clipboard) return;
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = "Copy";
    b.className = "copy-button";
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.textContent).then(function () {
        b.textContent = "Copied";
      });
    });
    pre.after(b);
  });
});
