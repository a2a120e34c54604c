// qsign pages: only the WebAuthn steps need script (passkey login, enrolment, step-up and
// approval, and the passkey on the identity provider's login page); everything else is plain
// forms. Every call on qsign's own pages sends the anti-forgery token.
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

const post = (path, csrf, body) =>
  fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrf },
    body: JSON.stringify(body || {}),
  });

// The page's message area: the texts come from the page (in its language); after a failure
// the focus moves to the message, so a keyboard or screen-reader user lands on it.
const noticeArea = () => document.getElementById("notice") || document.getElementById("passkey-notice");

const notice = (text) => {
  const el = noticeArea();
  if (el) {
    el.textContent = text;
  }
};

// A failed step: what happened in the page's language, the service's own words (English,
// marked as such) with the code and the support reference, and what to do next.
const failed = async (response, cancelled) => {
  const el = noticeArea();
  if (!el) {
    return;
  }
  const body = response ? await response.json().catch(() => ({})) : {};
  const line = (text, lang) => {
    const span = document.createElement("span");
    span.textContent = text;
    if (lang && lang !== el.dataset.lang) {
      span.lang = lang;
    }
    el.append(span, document.createElement("br"));
  };
  el.textContent = "";
  line(cancelled ? el.dataset.cancelled || "The passkey step was cancelled." : el.dataset.failed || "The passkey step did not succeed.");
  if (body.error_description) {
    line(`${body.error_description} (${body.error})`, "en");
  }
  if (body.support_ref) {
    line(`${el.dataset.reference || "Support reference"}: ${body.support_ref}`);
  }
  line(el.dataset.next || "Try again.");
  el.focus();
};

const requestOptions = (options) => {
  const publicKey = options.publicKey;
  publicKey.challenge = fromB64u(publicKey.challenge);
  for (const allowed of publicKey.allowCredentials || []) {
    allowed.id = fromB64u(allowed.id);
  }
  return publicKey;
};

const assertion = (credential) => ({
  id: credential.id,
  rawId: toB64u(credential.rawId),
  type: credential.type,
  response: {
    authenticatorData: toB64u(credential.response.authenticatorData),
    clientDataJSON: toB64u(credential.response.clientDataJSON),
    signature: toB64u(credential.response.signature),
    userHandle: credential.response.userHandle ? toB64u(credential.response.userHandle) : null,
  },
  extensions: {},
});

// A ceremony: start, ask the authenticator, finish, then go where the server says.
const ceremony = (button, run) => {
  if (!button || !window.PublicKeyCredential) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    notice("");
    try {
      const response = await run(button.dataset.csrf);
      if (!response.ok) {
        await failed(response);
      } else {
        window.location.assign((await response.json()).location);
      }
    } catch (e) {
      // The browser's own message is technical and English: say it in the page's words.
      await failed(null, e && e.name === "NotAllowedError");
    } finally {
      button.disabled = false;
    }
  });
};

// Runs a get-assertion ceremony between `start` and `finish`.
const getCeremony = async (csrf, start, startBody, finish, finishBody) => {
  const started = await post(start, csrf, startBody);
  if (!started.ok) {
    return started;
  }
  const { state, options } = await started.json();
  const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
  return post(finish, csrf, finishBody(state, assertion(credential)));
};

document.addEventListener("DOMContentLoaded", () => {
  // Times in tables are written in UTC; shown in the reader's own time zone and language.
  for (const time of document.querySelectorAll("time[datetime]")) {
    const at = new Date(time.dateTime);
    if (!Number.isNaN(at.getTime())) {
      time.textContent = at.toLocaleString(document.documentElement.lang || undefined, { dateStyle: "medium", timeStyle: "short" });
      time.title = time.dateTime;
    }
  }

  const login = document.getElementById("passkey-login");
  ceremony(login, (csrf) => {
    const form = new FormData(login.form);
    const username = form.get("username");
    return getCeremony(csrf, "/web/passkey/login/start", { username }, "/web/passkey/login/finish", (state, credential) => ({
      username,
      password: form.get("password") || null,
      otp: form.get("otp") || null,
      state,
      credential,
    }));
  });

  // The identity provider's login page (an application's OAuth login): the pending request's
  // id is the form's anti-forgery value.
  const authorize = document.getElementById("passkey");
  ceremony(authorize, () => {
    const form = new FormData(authorize.form);
    const request = form.get("request");
    const username = form.get("username");
    return getCeremony("", "/idp/authorize/passkey/start", { request, username }, "/idp/authorize/passkey/finish", (state, credential) => ({
      request,
      username,
      password: form.get("password") || null,
      otp: form.get("otp") || null,
      state,
      credential,
    }));
  });

  ceremony(document.getElementById("stepup"), (csrf) =>
    getCeremony(csrf, "/account/stepup/start", {}, "/account/stepup/finish", (state, credential) => ({ state, credential })),
  );

  // Only the factors the chosen credential accepts: a one-time code approves SCAL1 policies
  // only, so its field is hidden (and not required) for a SCAL2 credential.
  const chosen = document.getElementById("credential");
  const otpGroup = document.getElementById("otp-group");
  const passkeyOnly = document.getElementById("passkey-only");
  if (chosen && otpGroup && passkeyOnly) {
    const fit = () => {
      const scal2 = chosen.selectedOptions[0]?.dataset.scal === "2";
      otpGroup.hidden = scal2;
      passkeyOnly.hidden = !scal2;
      document.getElementById("otp").required = !scal2;
    };
    chosen.addEventListener("change", fit);
    fit();
  }

  const approve = document.getElementById("approve-passkey");
  ceremony(approve, (csrf) => {
    const id = approve.dataset.document;
    const credentialId = document.getElementById("credential").value;
    const name = new URLSearchParams(window.location.search).get("name") || "";
    return getCeremony(csrf, `/sign/${id}/passkey/start`, { credential: credentialId }, `/sign/${id}/passkey/finish`, (state, credential) => ({
      credential: credentialId,
      state,
      assertion: credential,
      name,
    }));
  });

  // An approval on the person's phone: a passkey assertion over the request's hashes.
  const approveRequest = document.getElementById("approve-request");
  ceremony(approveRequest, (csrf) => {
    const id = approveRequest.dataset.request;
    return getCeremony(csrf, `/approvals/${id}/passkey/start`, {}, `/approvals/${id}/passkey/finish`, (state, credential) => ({
      state,
      assertion: credential,
    }));
  });

  ceremony(document.getElementById("enrol-passkey"), async (csrf) => {
    // Below High, a passkey is bound with the enrolment code the operator handed over.
    const code = document.getElementById("enrolment-code");
    const started = await post("/account/passkeys/start", csrf, code ? { enrolment_code: code.value } : {});
    if (!started.ok) {
      return started;
    }
    const { state, options } = await started.json();
    const publicKey = options.publicKey;
    publicKey.challenge = fromB64u(publicKey.challenge);
    publicKey.user.id = fromB64u(publicKey.user.id);
    for (const excluded of publicKey.excludeCredentials || []) {
      excluded.id = fromB64u(excluded.id);
    }
    const credential = await navigator.credentials.create({ publicKey });
    return post("/account/passkeys/finish", csrf, {
      state,
      credential: {
        id: credential.id,
        rawId: toB64u(credential.rawId),
        type: credential.type,
        response: {
          attestationObject: toB64u(credential.response.attestationObject),
          clientDataJSON: toB64u(credential.response.clientDataJSON),
          transports: credential.response.getTransports ? credential.response.getTransports() : [],
        },
        extensions: {},
      },
    });
  });
});
