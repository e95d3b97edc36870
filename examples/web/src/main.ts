/** The example front end: signing in and out, then the pipeline and the interaction log. */
import "./style.css";

import { API_URL, crm, onSignedOut, problemFrom } from "./api";
import { byId, clearProblem, showProblem } from "./dom";
import { initInteractions, loadRecentInteractions, loadTargets } from "./interactions";
import { initPipeline, loadPipeline } from "./pipeline";

const signInForm = () => byId<HTMLFormElement>("sign-in-form");

function showSignIn(message?: string): void {
  byId("app-view").hidden = true;
  byId("session").hidden = true;
  byId("sign-in-view").hidden = false;
  byId("sign-in-message").textContent = message ?? "";
  (signInForm().elements.namedItem("email") as HTMLInputElement).focus();
}

async function showApp(): Promise<void> {
  let answer;
  try {
    answer = await crm.GET("/api/v1/me/");
  } catch (error) {
    showSignIn();
    showProblem(byId("sign-in-problem"), problemFrom(error));
    return;
  }
  const { data: me, error, response } = answer;
  if (me === undefined) {
    // Signed out when the refresh was refused (the listener below has shown the form); else say why.
    if (crm.getTokens() !== null) {
      showSignIn();
      showProblem(byId("sign-in-problem"), problemFrom(error, response));
    }
    return;
  }
  byId("who").textContent = `${me.first_name} ${me.last_name}`.trim() || me.email;
  byId("firm").textContent = `${me.tenant.name} · ${me.role}`;
  byId("sign-in-view").hidden = true;
  byId("session").hidden = false;
  byId("app-view").hidden = false;
  await Promise.all([loadPipeline(), loadRecentInteractions()]);
}

async function signIn(): Promise<void> {
  const form = signInForm();
  const fields = new FormData(form);
  const problem = byId("sign-in-problem");
  clearProblem(problem, form);
  try {
    await crm.login(String(fields.get("email") ?? ""), String(fields.get("password") ?? ""));
  } catch (error) {
    showProblem(problem, problemFrom(error), form);
    return;
  }
  (form.elements.namedItem("password") as HTMLInputElement).value = "";
  await showApp();
}

function start(): void {
  byId("api-url").textContent = API_URL;
  signInForm().addEventListener("submit", (event) => {
    event.preventDefault();
    void signIn();
  });
  let signingOut = false;
  byId("sign-out").addEventListener("click", () => {
    signingOut = true;
    void crm.logout().finally(() => (signingOut = false));
  });
  // Also when a refresh is refused: the session was ended elsewhere (signed out, password changed, …).
  onSignedOut(() => showSignIn(signingOut ? "Signed out." : "Your session has ended: sign in again."));
  initPipeline((opportunities) => void loadTargets(opportunities));
  initInteractions();
  if (crm.getTokens() === null) showSignIn();
  else void showApp();
}

start();
