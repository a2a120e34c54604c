// qsign login page: the passkey option. The page works without this script (password and
// one-time code); with it, a passkey plus the password or code gives a High login.
"use strict";

const fromB64u = (s) => {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
};
const toB64u = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const post = (path, body) =>
  fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("passkey");
  const notice = document.getElementById("passkey-notice");
  if (!button || !window.PublicKeyCredential) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    const data = new FormData(button.form);
    const request = data.get("request");
    const username = data.get("username");
    const fail = async (response) => {
      const body = response ? await response.json().catch(() => ({})) : {};
      notice.textContent = body.error_description || "The passkey login did not succeed.";
    };
    try {
      const start = await post("/idp/authorize/passkey/start", { request, username });
      if (!start.ok) {
        return fail(start);
      }
      const { state, options } = await start.json();
      const publicKey = options.publicKey;
      publicKey.challenge = fromB64u(publicKey.challenge);
      for (const allowed of publicKey.allowCredentials || []) {
        allowed.id = fromB64u(allowed.id);
      }
      const credential = await navigator.credentials.get({ publicKey });
      const response = credential.response;
      const finish = await post("/idp/authorize/passkey/finish", {
        request,
        username,
        password: data.get("password") || null,
        otp: data.get("otp") || null,
        state,
        credential: {
          id: credential.id,
          rawId: toB64u(credential.rawId),
          type: credential.type,
          response: {
            authenticatorData: toB64u(response.authenticatorData),
            clientDataJSON: toB64u(response.clientDataJSON),
            signature: toB64u(response.signature),
            userHandle: response.userHandle ? toB64u(response.userHandle) : null,
          },
          extensions: {},
        },
      });
      if (!finish.ok) {
        return fail(finish);
      }
      window.location.assign((await finish.json()).location);
    } catch (e) {
      return fail(null);
    }
  });
});
