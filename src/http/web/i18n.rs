//! The pages' texts in English and Danish. Each text is one line of the table below, so a
//! text cannot exist in one language only; the language comes from the `qsign_lang` cookie
//! (the switch on every page), else from `Accept-Language`, else English.

use crate::service::ErrorCode;

macro_rules! texts {
    ($($field:ident: $en:expr, $da:expr;)*) => {
        /// Every text of the pages in one language.
        #[derive(Debug)]
        pub struct Texts {
            /// The BCP 47 language tag.
            pub lang: &'static str,
            $(#[allow(missing_docs, reason = "the field names say it")] pub $field: &'static str,)*
        }

        /// English.
        pub static EN: Texts = Texts { lang: "en", $($field: $en,)* };
        /// Danish.
        pub static DA: Texts = Texts { lang: "da", $($field: $da,)* };
    };
}

texts! {
    skip_to_content: "Skip to content", "Spring til indholdet";
    nav_label: "Main", "Hovedmenu";
    nav_sign: "Sign", "Underskriv";
    nav_verify: "Verify", "Kontrollér";
    nav_history: "My signatures", "Mine underskrifter";
    nav_orgs: "Organisations", "Virksomheder";
    nav_account: "Account", "Konto";
    nav_help: "Help", "Hjælp";
    log_out: "Log out", "Log ud";
    loa_low: "Low", "Lav";
    loa_substantial: "Substantial", "Betydelig";
    loa_high: "High", "Høj";
    footer: "qsign — qualified electronic signatures with keys kept in an HSM under your sole control.", "qsign — kvalificerede elektroniske underskrifter med nøgler i en HSM under din enekontrol.";
    welcome_title: "Sign documents with qsign", "Underskriv dokumenter med qsign";
    welcome_intro: "Log in to sign a PDF, an XML file or any file. To check a signed file, you need no login.", "Log ind for at underskrive en PDF, en XML-fil eller en hvilken som helst fil. Du skal ikke logge ind for at kontrollere en underskrevet fil.";
    username: "Username", "Brugernavn";
    password: "Password", "Adgangskode";
    otp_optional: "One-time code from your app (optional; gives level Substantial)", "Engangskode fra din app (valgfri; giver niveau Betydelig)";
    log_in: "Log in", "Log ind";
    log_in_passkey: "Log in with a passkey (level High)", "Log ind med en adgangsnøgle (niveau Høj)";
    verify_hint: "Received a signed document?", "Har du modtaget et underskrevet dokument?";
    sign_title: "Sign a document", "Underskriv et dokument";
    sign_intro: "Choose the file and how to sign it. You will see the document before you approve.", "Vælg filen og hvordan den skal underskrives. Du ser dokumentet, før du godkender.";
    file_label: "File (PDF, XML or any file)", "Fil (PDF, XML eller en hvilken som helst fil)";
    format_label: "Signature format", "Underskriftsformat";
    format_auto: "Chosen from the file: a PDF inside the PDF, an XML file inside the XML, anything else as a separate .p7s file", "Vælges efter filen: en PDF i PDF'en, en XML-fil i XML-filen, alt andet som en separat .p7s-fil";
    more_options: "More options (format, level, reason, place, visible signature)", "Flere indstillinger (format, niveau, begrundelse, sted, synlig underskrift)";
    what_happens: "A qualified electronic signature has the same legal effect as a handwritten one. You sign with the certificate you choose below: your personal one, or one for an organisation (its CVR number is shown), which binds the organisation.", "En kvalificeret elektronisk underskrift har samme retsvirkning som en håndskreven. Du underskriver med det certifikat, du vælger nedenfor: dit personlige eller et for en virksomhed (dens CVR-nummer vises), som binder virksomheden.";
    format_pades: "PDF signature inside the PDF (PAdES)", "PDF-underskrift i PDF'en (PAdES)";
    format_xades: "XML signature inside the XML (XAdES)", "XML-underskrift i XML-filen (XAdES)";
    format_cades: "Separate signature file for any file (CAdES, .p7s)", "Separat underskriftsfil til enhver fil (CAdES, .p7s)";
    level_label: "Signature level", "Underskriftsniveau";
    level_bb: "basic", "grundlæggende";
    level_bt: "with a trusted time", "med et betroet tidspunkt";
    level_blt: "with revocation data for long-term checks", "med spærreoplysninger til langtidskontrol";
    level_blta: "with archive timestamp", "med arkivtidsstempel";
    pdf_options: "PDF options", "PDF-indstillinger";
    reason_label: "Reason (optional)", "Begrundelse (valgfri)";
    location_label: "Place (optional)", "Sted (valgfrit)";
    visible_label: "Show a visible signature field", "Vis et synligt underskriftsfelt";
    visible_page_label: "On page", "På side";
    visible_corner_label: "Position on the page", "Placering på siden";
    corner_bottom_left: "bottom left", "nederst til venstre";
    corner_bottom_right: "bottom right", "nederst til højre";
    corner_top_left: "top left", "øverst til venstre";
    corner_top_right: "top right", "øverst til højre";
    upload_button: "Upload and review", "Upload og gennemse";
    your_orgs: "Your organisations", "Dine virksomheder";
    review_title: "Review what you sign", "Gennemse det, du underskriver";
    review_intro: "Check that this is the document you mean to sign. Your approval covers exactly this SHA-256 fingerprint.", "Kontrollér, at det er det dokument, du vil underskrive. Din godkendelse dækker præcis dette SHA-256-fingeraftryk.";
    file_name: "File name", "Filnavn";
    file_size: "Size", "Størrelse";
    bytes: "bytes", "byte";
    pages: "Pages", "Sider";
    page: "Page", "Side";
    more_pages: "Only the first pages are shown; the signature covers the whole document.", "Kun de første sider vises; underskriften dækker hele dokumentet.";
    approve_title: "Approve the signature", "Godkend underskriften";
    support_contact: "Need help? Contact", "Brug for hjælp? Kontakt";
    login_again: "Log in again and come back to this page", "Log ind igen og kom tilbage til denne side";
    passkey_failed: "The passkey step did not succeed.", "Trinnet med adgangsnøglen lykkedes ikke.";
    passkey_cancelled: "The passkey step was cancelled or took too long.", "Trinnet med adgangsnøglen blev annulleret eller tog for lang tid.";
    passkey_next: "Try again. If it keeps failing, write to support with the reference above; /help explains each code.", "Prøv igen. Hvis det bliver ved med at mislykkes, så skriv til support med referencen ovenfor; /help forklarer hver kode.";
    doc_text_link: "Read the document's text", "Læs dokumentets tekst";
    doc_text_title: "The document's text", "Dokumentets tekst";
    doc_text_none: "This document has no text to show (it may be pictures only): look at its pages, or open the file itself.", "Dokumentet har ingen tekst at vise (det kan bestå af billeder): se siderne, eller åbn selve filen.";
    open_file: "Open the file itself", "Åbn selve filen";
    larger_view: "Larger view of page", "Større visning af side";
    back_to_review: "Back to the review", "Tilbage til gennemsynet";
    no_credentials: "You have no usable signing credential.", "Du har ingen brugbar underskriftsnøgle.";
    credential_label: "Sign as", "Underskriv som";
    approve_passkey: "Approve with my passkey", "Godkend med min adgangsnøgle";
    approve_otp_label: "Or a one-time code from your app", "Eller en engangskode fra din app";
    approve_passkey_only: "This credential is approved with your passkey only: a one-time code cannot approve a qualified signature.", "Denne nøgle godkendes kun med din adgangsnøgle: en engangskode kan ikke godkende en kvalificeret underskrift.";
    approve_otp: "Approve with the code", "Godkend med koden";
    cancel: "Cancel and delete the upload", "Annullér og slet det uploadede";
    signed_title: "Signed", "Underskrevet";
    signed_intro: "The document is signed. Download it now: it is deleted from qsign after a while.", "Dokumentet er underskrevet. Hent det nu: det slettes fra qsign efter et stykke tid.";
    download: "Download the signed file", "Hent den underskrevne fil";
    second_signer: "Another signer can add a signature by uploading the signed PDF again.", "En anden underskriver kan tilføje sin underskrift ved at uploade den underskrevne PDF igen.";
    sign_another: "Sign another document", "Underskriv et andet dokument";
    history_title: "My signatures and logins", "Mine underskrifter og login";
    history_intro: "Everything done in your name, newest first. If you see something you did not do, remove the lost factor on the account page and contact support.", "Alt, der er gjort i dit navn, nyeste først. Ser du noget, du ikke har gjort, så fjern den mistede faktor på kontosiden og kontakt support.";
    history_empty: "Nothing yet.", "Intet endnu.";
    when: "When", "Hvornår";
    what: "What", "Hvad";
    details: "Details", "Detaljer";
    account_title: "Your account and login factors", "Din konto og dine loginfaktorer";
    account_level: "This session's level of assurance is", "Denne sessions sikringsniveau er";
    stepup_passkey: "Step up to High with my passkey", "Løft til Høj med min adgangsnøgle";
    stepup_otp_label: "Step up to Substantial with a one-time code", "Løft til Betydelig med en engangskode";
    stepup_otp: "Step up", "Løft";
    passkeys: "Passkeys", "Adgangsnøgler";
    no_passkeys: "No passkey yet. A passkey is needed for qualified signatures.", "Ingen adgangsnøgle endnu. En adgangsnøgle kræves til kvalificerede underskrifter.";
    passkey_added: "Passkey added", "Adgangsnøgle tilføjet";
    add_passkey: "Add a passkey", "Tilføj en adgangsnøgle";
    signature_options: "Signature options you approve with the document (reason, place, certification, visible box)", "Underskriftsvalg, du godkender sammen med dokumentet (begrundelse, sted, certificering, synlig boks)";
    enrolment_code_label: "Enrolment code (from the letter or the service desk; not needed when this session is High)", "Aktiveringskode (fra brevet eller servicecentret; ikke nødvendig, når denne session er Høj)";
    passkey_pending: "counts for High from", "tæller som Høj fra";
    bound_by_code: "added with an enrolment code", "tilføjet med en aktiveringskode";
    bound_by_passkey: "added from a session with a passkey", "tilføjet fra en session med en adgangsnøgle";
    remove: "Remove", "Fjern";
    totp: "One-time codes (authenticator app)", "Engangskoder (autentificeringsapp)";
    totp_enrolled: "An authenticator app is enrolled.", "En autentificeringsapp er tilmeldt.";
    totp_none: "No authenticator app is enrolled.", "Ingen autentificeringsapp er tilmeldt.";
    remove_totp: "Remove the app (lost phone)", "Fjern appen (mistet telefon)";
    totp_new: "Enrol a new authenticator app (needs level High)", "Tilmeld en ny autentificeringsapp (kræver niveau Høj)";
    totp_scan: "Add this secret to your authenticator app, then type the code it shows.", "Tilføj denne hemmelighed i din autentificeringsapp, og skriv derefter koden, den viser.";
    totp_confirm_label: "Code from the app", "Kode fra appen";
    totp_confirm: "Confirm", "Bekræft";
    lost_title: "Lost your phone or key?", "Mistet din telefon eller nøgle?";
    lost_intro: "Log in with another factor (your password with the other one), remove the lost factor on the account page, then look through your recent logins and signatures for anything you did not do.", "Log ind med en anden faktor (din adgangskode og den anden faktor), fjern den mistede faktor på kontosiden, og gennemse derefter dine seneste login og underskrifter for noget, du ikke har gjort.";
    recent_activity: "Recent logins and signatures", "Seneste login og underskrifter";
    verify_title: "Verify a signed file", "Kontrollér en underskrevet fil";
    verify_intro: "Upload a signed PDF, XML or CMS (.p7s) file. No login is needed and the file is not kept.", "Upload en underskrevet PDF-, XML- eller CMS-fil (.p7s). Du skal ikke logge ind, og filen gemmes ikke.";
    verify_file: "Signed file", "Underskrevet fil";
    verify_content: "Signed content, for a separate signature file (optional)", "Underskrevet indhold, til en separat underskriftsfil (valgfrit)";
    verify_button: "Verify", "Kontrollér";
    report_title: "Validation report", "Valideringsrapport";
    checked_at: "Checked at", "Kontrolleret";
    signatures_found: "signature(s) found.", "underskrift(er) fundet.";
    signature: "Signature", "Underskrift";
    result: "Result", "Resultat";
    signer: "Signer", "Underskriver";
    organisation: "Organisation", "Virksomhed";
    claimed_time: "Signing time claimed by the signer", "Underskriftstidspunkt angivet af underskriveren";
    proven_time: "Time proven by a timestamp", "Tidspunkt bevist af et tidsstempel";
    revocation: "Revocation check", "Spærrekontrol";
    covers: "Covers", "Dækker";
    revision: "revision", "revision";
    whole_file: "the whole file", "hele filen";
    later_changes: "Changes made after this signature:", "Ændringer efter denne underskrift:";
    allowed: "allowed", "tilladt";
    not_allowed: "NOT allowed", "IKKE tilladt";
    download_json: "Download the report as JSON", "Hent rapporten som JSON";
    verify_another: "Verify another file", "Kontrollér en anden fil";
    verdict_passed: "Every signature is valid.", "Alle underskrifter er gyldige.";
    verdict_failed: "At least one signature is NOT valid.", "Mindst én underskrift er IKKE gyldig.";
    verdict_indeterminate: "The signatures could not be fully checked.", "Underskrifterne kunne ikke kontrolleres fuldt ud.";
    verdict_none: "The file has no signature.", "Filen har ingen underskrift.";
    result_passed: "valid", "gyldig";
    result_failed: "NOT valid", "IKKE gyldig";
    result_indeterminate: "could not be fully checked", "kunne ikke kontrolleres fuldt ud";
    capacity_label: "Signed as", "Underskrevet som";
    representation_title: "Authority to sign for an organisation", "Tegningsret for en virksomhed";
    rule_label: "rule", "regel";
    rule_met: "the rule is met", "reglen er opfyldt";
    rule_not_met: "the rule is NOT met", "reglen er IKKE opfyldt";
    signed_by: "Signed", "Underskrevet";
    still_needed: "Still needed", "Mangler stadig";
    none: "—", "—";
    orgs_title: "Your organisations", "Dine virksomheder";
    orgs_none: "You are not a member of any organisation.", "Du er ikke medlem af nogen virksomhed.";
    accept_title: "Join with an invitation", "Tilmeld dig med en invitation";
    invitation_code: "Invitation code", "Invitationskode";
    accept: "Join", "Tilmeld";
    org_needs_high: "Changing members and rights needs a High session.", "Ændring af medlemmer og rettigheder kræver en session på niveau Høj.";
    members: "Members", "Medlemmer";
    member: "Member", "Medlem";
    admin: "Administrator", "Administrator";
    actions: "Actions", "Handlinger";
    grant: "Grant", "Giv";
    revoke: "Revoke", "Fratag";
    invite_title: "Invite a member", "Invitér et medlem";
    invite: "Invite", "Invitér";
    org_audit: "Audit trail", "Revisionsspor";
    cases_title: "Signing cases", "Underskriftssager";
    cases_intro: "A signing case collects the signatures that bind the organisation under its rule of representation: each member signs the same PDF in their role, and the case is complete when the rule is met.", "En underskriftssag samler de underskrifter, der binder virksomheden efter dens tegningsregel: hvert medlem underskriver den samme PDF i sin rolle, og sagen er færdig, når reglen er opfyldt.";
    cases_none: "No signing cases yet.", "Ingen underskriftssager endnu.";
    case_open_title: "Open a signing case", "Opret en underskriftssag";
    case_title_label: "What the document is", "Hvad dokumentet er";
    case_days_label: "Days it stays open (1 to 90)", "Dage den er åben (1 til 90)";
    case_file_label: "The PDF to be signed", "PDF'en, der skal underskrives";
    case_open_button: "Open the case", "Opret sagen";
    case_state_label: "State", "Status";
    case_state_open: "open", "åben";
    case_state_complete: "complete: the rule is met", "færdig: reglen er opfyldt";
    case_state_expired: "expired", "udløbet";
    case_rule: "Rule of representation", "Tegningsregel";
    case_signatures: "Signatures", "Underskrifter";
    case_missing: "Still needed", "Mangler stadig";
    case_expires: "Open until", "Åben til";
    case_role: "Role", "Rolle";
    case_sign_title: "Sign the case", "Underskriv sagen";
    case_sign_as: "Sign as", "Underskriv som";
    case_sign_button: "Review and sign", "Gennemse og underskriv";
    case_no_way: "You hold no role that this rule counts, so you cannot sign this case.", "Du har ingen rolle, som denne regel tæller med, så du kan ikke underskrive sagen.";
    case_document_link: "Download the PDF with the signatures so far", "Hent PDF'en med underskrifterne indtil nu";
    case_format_auto: "PAdES for a PDF, otherwise CAdES", "PAdES for en PDF, ellers CAdES";
    case_signature_file: "Signature", "Underskrift";
    case_original_link: "Download the document", "Hent dokumentet";
    case_all_signatures: "Download all signatures (one .p7s)", "Hent alle underskrifter (én .p7s)";
    or: "or", "eller";
    a11y_link: "Accessibility statement", "Tilgængelighedserklæring";
    a11y_title: "Accessibility statement", "Tilgængelighedserklæring";
    a11y_intro: "This statement covers qsign's web pages for signing, verifying and administering organisations. The operator of this service is committed to making them accessible under the Danish act on the accessibility of public bodies' websites and mobile applications, which implements the EU Web Accessibility Directive.", "Denne erklæring gælder qsigns websider til underskrift, kontrol og administration af virksomheder. Tjenestens udbyder forpligter sig til at gøre dem tilgængelige efter lov om tilgængelighed af offentlige organers websteder og mobilapplikationer, som gennemfører EU's webtilgængelighedsdirektiv.";
    a11y_status_title: "Compliance status", "Overholdelsesstatus";
    a11y_status: "Partially compliant with EN 301 549 and WCAG 2.1 level AA, for the reasons listed under non-accessible content.", "Delvist i overensstemmelse med EN 301 549 og WCAG 2.1 niveau AA af de grunde, der står under ikke-tilgængeligt indhold.";
    a11y_tested_title: "How it is tested", "Sådan testes det";
    a11y_tested_axe: "Every build runs axe-core (WCAG 2.0, 2.1 and 2.2, levels A and AA) on every page state of the signing journey in Danish and English; it finds no violation.", "Hver version kører axe-core (WCAG 2.0, 2.1 og 2.2, niveau A og AA) på alle sidetilstande i underskriftsforløbet på dansk og engelsk; den finder ingen fejl.";
    a11y_tested_keyboard: "The whole journey is done with the keyboard alone: upload, choosing the certificate, approving, downloading with Space, the history; the focus ring has at least 3:1 contrast.", "Hele forløbet gennemføres alene med tastaturet: upload, valg af certifikat, godkendelse, download med mellemrumstasten, historikken; fokusmarkeringen har mindst 3:1 kontrast.";
    a11y_tested_phone: "Every page fits a 320 pixel wide screen without scrolling sideways.", "Alle sider passer til en 320 pixel bred skærm uden vandret rulning.";
    a11y_tested_reader: "The document to be signed can be read as text with a screen reader, and errors are shown above the form with the focus moved to them.", "Dokumentet, der skal underskrives, kan læses som tekst med en skærmlæser, og fejl vises over formularen med fokus flyttet til dem.";
    a11y_gaps_title: "Non-accessible content", "Ikke-tilgængeligt indhold";
    a11y_gap_forms: "Some administration forms (organisation rules, roles, rights, signing cases) and the verification upload show a refused form on a separate page rather than above the form.", "Nogle administrationsformularer (virksomhedens regler, roller, rettigheder, underskriftssager) og upload til kontrol viser en afvist formular på en separat side i stedet for over formularen.";
    a11y_gap_script: "Without JavaScript there is no warning before the session ends; the page that says it ended lets you log in again and come back.", "Uden JavaScript kommer der ingen advarsel, før sessionen udløber; siden, der siger, at den er udløbet, lader dig logge ind igen og vende tilbage.";
    a11y_gap_policies: "The descriptions of signature policies come from the operator's configuration and may be in English on Danish pages.", "Beskrivelserne af underskriftspolitikker kommer fra udbyderens opsætning og kan være på engelsk på danske sider.";
    a11y_gap_approvals: "The page for approvals on the phone is checked over HTTP but not yet in the browser test.", "Siden til godkendelser på telefonen kontrolleres over HTTP, men endnu ikke i browsertesten.";
    a11y_made_title: "Preparation of this statement", "Udarbejdelse af denne erklæring";
    a11y_made: "This statement was prepared on 7 December 2026 from the automated tests described above and a review of the pages with the keyboard, at phone width and in both languages. It is reviewed with every release.", "Denne erklæring blev udarbejdet den 7. december 2026 ud fra de automatiske test ovenfor og en gennemgang af siderne med tastatur, i telefonbredde og på begge sprog. Den gennemgås ved hver ny version.";
    a11y_feedback_title: "Feedback and contact", "Feedback og kontaktoplysninger";
    a11y_feedback: "If something is hard to use, tell the operator of this service and give the support reference the page shows:", "Hvis noget er svært at bruge, så skriv til tjenestens udbyder og oplys supportreferencen, som siden viser:";
    a11y_enforcement_title: "Enforcement procedure", "Håndhævelsesprocedure";
    a11y_enforcement: "If you are not satisfied with the answer, you can complain to the Agency for Digital Government (Digitaliseringsstyrelsen), which supervises the accessibility of public bodies' websites.", "Hvis du ikke er tilfreds med svaret, kan du klage til Digitaliseringsstyrelsen, som fører tilsyn med tilgængeligheden af offentlige organers websteder.";
    signed_as: "You sign as", "Du underskriver som";
    mandate_word: "power of attorney", "fuldmagt";
    mandates_title: "Powers of attorney", "Fuldmagter";
    mandates_none: "No powers of attorney.", "Ingen fuldmagter.";
    mandate_granted_to: "Granted to", "Givet til";
    mandate_received_from: "Received from", "Modtaget fra";
    mandate_scope: "Scope", "Omfang";
    mandate_valid: "Valid", "Gyldig";
    mandate_state: "State", "Status";
    mandate_assigned_to: "Assigned to", "Tildelt";
    msg_mandate_revoked: "The power of attorney is revoked.", "Fuldmagten er tilbagekaldt.";
    help_title: "Help", "Hjælp";
    help_intro: "Every error page names a code and a support reference. Find the code below to see what it means and what you can do. If you contact support, give them the support reference.", "Hver fejlside angiver en kode og en supportreference. Find koden nedenfor for at se, hvad den betyder, og hvad du kan gøre. Giv supportreferencen, hvis du kontakter support.";
    codes_title: "Error codes", "Fejlkoder";
    support_title: "Support lookup", "Supportopslag";
    support_ref: "Support reference", "Supportreference";
    search: "Find", "Find";
    support_none: "No audit record carries this reference.", "Ingen revisionspost har denne reference.";
    support_records: "Audit records", "Revisionsposter";
    support_logs: "In the service's log, search for", "Søg i tjenestens log efter";
    error_title: "That did not work", "Det lykkedes ikke";
    error_code: "Error code", "Fejlkode";
    back_home: "Back to the start page", "Tilbage til forsiden";
    msg_passkey_added: "The passkey is added.", "Adgangsnøglen er tilføjet.";
    msg_passkey_removed: "The passkey is removed.", "Adgangsnøglen er fjernet.";
    msg_totp_enrolled: "The authenticator app is enrolled.", "Autentificeringsappen er tilmeldt.";
    msg_totp_removed: "The authenticator app is removed.", "Autentificeringsappen er fjernet.";
    msg_stepped_up: "Your session is stepped up.", "Din session er løftet.";
    msg_right_changed: "The right is changed.", "Rettigheden er ændret.";
    msg_member_removed: "The member is removed.", "Medlemmet er fjernet.";
    msg_invited: "Invitation made. Give the member this code (shown once):", "Invitationen er lavet. Giv medlemmet denne kode (vises én gang):";
    cred_personal: "Myself", "Mig selv";
    cred_employee: "Employee of", "Medarbejder i";
    cred_seal: "Seal of", "Segl for";
    rule_title: "Rule of representation", "Tegningsregel";
    rule_none: "No rule is set.", "Der er ikke fastsat nogen tegningsregel.";
    rule_input_label: "Rule: roles joined by | (either) and & (together), a count in braces for several signers, e.g. director | board{2}", "Regel: roller forbundet med | (enten) og & (sammen), et antal i tuborgklammer for flere underskrivere, fx director | board{2}";
    rule_set: "Set the rule", "Fastsæt reglen";
    roles: "Roles", "Roller";
    role_label: "Role", "Rolle";
    add_role: "Add role", "Tilføj rolle";
    anonymous: "Anonymous", "Anonym";
    pseudonym: "Certificates show the pseudonym", "Certifikater viser pseudonymet";
    requests_title: "Pending requests", "Ventende anmodninger";
    requests_none: "No pending requests.", "Ingen ventende anmodninger.";
    approve: "Approve", "Godkend";
    refuse: "Refuse", "Afvis";
    ask_title: "Ask for a right or a role", "Anmod om en ret eller en rolle";
    ask_kind: "What you ask for", "Hvad du anmoder om";
    ask_right: "A right", "En ret";
    ask_label: "Name (sign_on_behalf, use_seal, or a role such as board)", "Navn (sign_on_behalf, use_seal eller en rolle som board)";
    ask: "Ask the administrators", "Spørg administratorerne";
    leave: "Leave this organisation", "Forlad virksomheden";
    leave_hint: "Leaving withdraws your consent: your certificate for the organisation is revoked at once.", "Når du forlader virksomheden, trækker du dit samtykke tilbage: dit certifikat for virksomheden spærres med det samme.";
    signatures_made: "Signatures made for the organisation", "Underskrifter lavet for virksomheden";
    invite_anonymous: "Anonymous (the certificate shows a pseudonym, not the name)", "Anonym (certifikatet viser et pseudonym, ikke navnet)";
    invite_roles: "Roles (separated by spaces, e.g. board chair)", "Roller (adskilt med mellemrum, fx board chair)";
    pending_label: "Asked for", "Anmodet om";
    msg_rule_set: "The rule is set.", "Reglen er fastsat.";
    msg_role_changed: "The role is changed.", "Rollen er ændret.";
    msg_request_decided: "The request is decided.", "Anmodningen er afgjort.";
    msg_requested: "Your request is sent to the administrators.", "Din anmodning er sendt til administratorerne.";
    msg_left: "You have left the organisation.", "Du har forladt virksomheden.";
    nav_approvals: "Approvals", "Godkendelser";
    approvals_title: "Approvals waiting for you", "Godkendelser, der venter på dig";
    approvals_intro: "An application you use asks you to approve signatures here, on any device where you are logged in, such as your phone. Approve only what you recognise: your approval covers exactly the fingerprints shown, with the certificate shown.", "Et program, du bruger, beder dig godkende underskrifter her, på enhver enhed, hvor du er logget ind, fx din telefon. Godkend kun det, du genkender: din godkendelse dækker præcis de viste fingeraftryk med det viste certifikat.";
    approvals_none: "Nothing waits for your approval.", "Intet venter på din godkendelse.";
    approvals_back: "All approvals waiting for you", "Alle godkendelser, der venter på dig";
    approval_title: "Approve a signature request", "Godkend en anmodning om underskrift";
    approval_intro: "Check what you are asked to sign. Your passkey approves exactly these fingerprints with this certificate, and nothing else; the application gets the approval once.", "Kontrollér, hvad du bliver bedt om at underskrive. Din adgangsnøgle godkender præcis disse fingeraftryk med dette certifikat og intet andet; programmet får godkendelsen én gang.";
    approval_untitled: "A signature request", "En anmodning om underskrift";
    approval_state: "State", "Status";
    approval_pending: "waiting for you", "venter på dig";
    approval_approved: "approved", "godkendt";
    approval_refused: "refused", "afvist";
    approval_expired: "expired", "udløbet";
    approval_asked_by: "Asked by", "Anmodet af";
    approval_application: "an application with your login at level", "et program med dit login på niveau";
    approval_description: "What it is", "Hvad det er";
    approval_signatures: "Number of signatures", "Antal underskrifter";
    approval_asked_at: "Asked at", "Anmodet";
    approval_expires: "Decide before", "Afgør inden";
    approval_hashes: "What you approve: the fingerprint of each document", "Det du godkender: fingeraftrykket af hvert dokument";
    approval_label: "Document", "Dokument";
    approval_hex: "hexadecimal", "hexadecimalt";
    approval_open: "Review and decide", "Gennemse og afgør";
    approval_refuse: "Refuse the request", "Afvis anmodningen";
    approval_needs_script: "Approving with a passkey needs JavaScript in this browser; refusing does not.", "Godkendelse med en adgangsnøgle kræver JavaScript i denne browser; det gør afvisning ikke.";
    approval_decided: "This request is decided or has expired: nothing more can be done with it here.", "Denne anmodning er afgjort eller udløbet: der kan ikke gøres mere med den her.";
    approval_link: "The address of this request (the application may show it as a link):", "Adressen på denne anmodning (programmet kan vise den som et link):";
    msg_approved: "Approved. The application can now make the signature.", "Godkendt. Programmet kan nu lave underskriften.";
    msg_refused: "Refused. The application is told so when it asks.", "Afvist. Programmet får det at vide, når det spørger.";
    // Errors on their page, time limits, history in words, support and help (issue #20).
    error_summary_title: "There is a problem", "Der er et problem";
    support_ref_hint: "If you contact support, read them the support reference: 8 letters and digits.", "Hvis du kontakter support, så læs supportreferencen op for dem: 8 bogstaver og tal.";
    unit_minutes: "min", "min.";
    unit_seconds: "s", "sek.";
    session_warning_title: "Your session is about to end", "Din session er ved at udløbe";
    session_warning_text: "For your security you will be logged out in", "Af hensyn til din sikkerhed bliver du logget ud om";
    session_ended: "Your session has ended. Log in again to go on from this page; an uploaded document is kept for a while.", "Din session er udløbet. Log ind igen for at fortsætte fra denne side; et uploadet dokument gemmes et stykke tid.";
    session_continue: "Stay logged in", "Forbliv logget ind";
    session_login_again: "Log in again and come back here", "Log ind igen og kom tilbage hertil";
    session_extended: "You are still logged in.", "Du er stadig logget ind.";
    history_document: "Document and certificate", "Dokument og certifikat";
    history_no_name: "A document (its name was not recorded)", "Et dokument (navnet blev ikke gemt)";
    history_signed_as: "Signed as:", "Underskrevet som:";
    history_personal: "yourself (your personal certificate)", "dig selv (dit personlige certifikat)";
    history_for_org: "For the organisation", "For virksomheden";
    history_signed: "Signed", "Underskrevet";
    history_approved: "Approved", "Godkendt";
    history_refused: "Refused", "Afvist";
    history_technical: "Technical details", "Tekniske detaljer";
    totp_scan_qr: "Scan the QR code with your authenticator app, or type the secret beside it into the app.", "Scan QR-koden med din autentificeringsapp, eller skriv hemmeligheden ved siden af ind i appen.";
    totp_qr_alt: "QR code for your authenticator app: it holds the same secret as the text beside it", "QR-kode til din autentificeringsapp: den indeholder den samme hemmelighed som teksten ved siden af";
    idp_title: "Log in to qsign", "Log ind på qsign";
    idp_asks: "asks you to log in.", "beder dig om at logge ind.";
    idp_approving_title: "You are asked to approve", "Du bliver bedt om at godkende";
    idp_approving_note: "Logging in approves these signatures.", "Når du logger ind, godkender du disse underskrifter.";
    help_tasks_title: "What do you want to do?", "Hvad vil du gøre?";
    help_sign_title: "Sign a document", "Underskrive et dokument";
    help_sign_1: "Log in on the start page with your password and the code from your app, or with your passkey.", "Log ind på forsiden med din adgangskode og koden fra din app, eller med din adgangsnøgle.";
    help_sign_2: "Choose the file and select \"Upload and review\".", "Vælg filen, og vælg \"Upload og gennemse\".";
    help_sign_3: "Check the document: its pages, its text and the certificate you sign with.", "Kontrollér dokumentet: dets sider, dets tekst og det certifikat, du underskriver med.";
    help_sign_4: "Approve with your passkey (or with a one-time code where the page offers it).", "Godkend med din adgangsnøgle (eller med en engangskode, hvor siden tilbyder det).";
    help_sign_5: "Download the signed file. Your signatures are listed under \"My signatures\".", "Hent den underskrevne fil. Dine underskrifter står under \"Mine underskrifter\".";
    help_passkey_title: "Add a passkey", "Tilføje en adgangsnøgle";
    help_passkey_1: "Log in and open your account page.", "Log ind, og åbn din kontoside.";
    help_passkey_2: "If your session is not at level High, type the enrolment code from the letter or the service desk.", "Hvis din session ikke er på niveau Høj, så skriv aktiveringskoden fra brevet eller servicecentret.";
    help_passkey_3: "Select \"Add a passkey\" and follow what your phone, computer or security key asks.", "Vælg \"Tilføj en adgangsnøgle\", og følg det, din telefon, computer eller sikkerhedsnøgle beder om.";
    help_lost_1: "Log in with your password and the factor you still have.", "Log ind med din adgangskode og den faktor, du stadig har.";
    help_lost_2: "On your account page, remove the lost phone (the authenticator app) or the lost passkey.", "Fjern den mistede telefon (autentificeringsappen) eller den mistede adgangsnøgle på din kontoside.";
    help_lost_3: "Look through your signatures and logins for anything you did not do, and tell support if you find something.", "Gennemse dine underskrifter og login for noget, du ikke har gjort, og sig det til support, hvis du finder noget.";
    help_support_title: "Contact support", "Kontakte support";
    help_support_text: "Every error shows a support reference of 8 letters and digits. Read it to support: it lets them find what happened.", "Hver fejl viser en supportreference på 8 bogstaver og tal. Læs den op for support: så kan de finde ud af, hvad der skete.";
}

/// The texts for a request: the cookie's choice, else the first of `da`/`en` in
/// `Accept-Language` (in the order given), else English.
#[must_use]
pub fn choose(cookie: Option<&str>, accept_language: Option<&str>) -> &'static Texts {
    match cookie {
        Some("da") => return &DA,
        Some("en") => return &EN,
        _ => {}
    }
    for range in accept_language.unwrap_or("").split(',') {
        let tag = range
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let primary = tag.split('-').next().unwrap_or("");
        match primary {
            "da" => return &DA,
            "en" => return &EN,
            _ => {}
        }
    }
    &EN
}

/// What an error code means and what to do, in Danish (English: [`ErrorCode::description`]
/// and [`ErrorCode::advice`]). The match has no catch-all, so a new code cannot go untranslated.
#[must_use]
pub const fn danish_advice(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidRequest => "Forespørgslen mangler et felt eller har en værdi, der ikke accepteres. Ret formularen som beskeden siger.",
        ErrorCode::NotFound => "Siden, dokumentet eller elementet findes ikke (længere). Uploadede dokumenter slettes efter et stykke tid: upload filen igen.",
        ErrorCode::MethodNotAllowed => "Adressen tager ikke imod denne slags forespørgsel. Brug qsigns egne links i stedet for at skrive adressen.",
        ErrorCode::PayloadTooLarge => "Filen er større, end tjenesten tager imod. Gør filen mindre (fx med mindre billeder), og prøv igen.",
        ErrorCode::UnsupportedMediaType => "Send filen i et format, som siden tager imod.",
        ErrorCode::RequestTimeout => "Det tog for lang tid. Prøv igen; med en meget stor fil, prøv en mindre.",
        ErrorCode::TemporarilyUnavailable | ErrorCode::NotReady => "Tjenesten er optaget eller under vedligeholdelse. Prøv igen om nogle minutter.",
        ErrorCode::InternalError => "Der gik noget galt hos os. Prøv igen; sker det igen, så kontakt support med supportreferencen.",
        ErrorCode::InvalidGrant => "Brugernavn, adgangskode eller engangskode er forkert. Kontrollér dem (koderne skifter hvert 30. sekund).",
        ErrorCode::UnsupportedGrantType => "Programmet bruger en loginmetode, som tjenesten ikke tilbyder; kontakt programmets leverandør.",
        ErrorCode::CodeReused => "Hver engangskode virker kun én gang. Vent på den næste kode i din app, og brug den.",
        ErrorCode::TooManyAttempts => "Efter flere fejlede forsøg er login sat på pause et stykke tid. Vent og prøv igen; var det ikke dig, så kontakt support.",
        ErrorCode::InvalidToken => "Din session er udløbet eller ugyldig. Log ind igen.",
        ErrorCode::AlreadyExists => "Det findes allerede (fx er dokumentet allerede underskrevet). Fortsæt derfra.",
        ErrorCode::InsufficientLoa => "Det kræver et stærkere login. Løft sessionen på kontosiden: en engangskode giver Betydelig, en adgangsnøgle giver Høj.",
        ErrorCode::CredentialNotFound => "Vælg en af dine egne underskriftsnøgler; en medarbejdernøgle forsvinder, når retten til at underskrive for virksomheden fratages.",
        ErrorCode::CredentialSuspended => "Din underskriftsnøgle er midlertidigt spærret. Genoptag den, eller kontakt support, hvis du ikke selv spærrede den.",
        ErrorCode::CredentialRevoked => "Denne underskriftsnøgle er spærret for altid og kan ikke underskrive igen.",
        ErrorCode::InvalidSad | ErrorCode::SadMismatch | ErrorCode::HashNotAuthorized => "Godkendelsen passer ikke til denne underskrift. Start underskriften forfra, og godkend igen.",
        ErrorCode::SadExpired => "Godkendelsen udløb, før underskriften blev lavet. Godkend igen.",
        ErrorCode::SadUsed | ErrorCode::SadCountExceeded => "En godkendelse dækker kun de dokumenter, der blev vist, da den blev givet. Godkend igen for nye dokumenter.",
        ErrorCode::ActivationFailed => "Adgangsnøglen eller koden kunne ikke bekræftes. Prøv igen med den adgangsnøgle eller app, der er tilmeldt din konto.",
        ErrorCode::ActivationTooWeak => "En kvalificeret underskrift skal godkendes med din adgangsnøgle, ikke en engangskode. Tilføj en adgangsnøgle på kontosiden.",
        ErrorCode::UnsupportedAlgorithm | ErrorCode::UnsupportedFormat => "Vælg et af de formater og algoritmer, som underskriftssiden tilbyder.",
        ErrorCode::InvalidXml => "XML-filen blev afvist: den er ødelagt eller bruger DTD'er eller entiteter, som af sikkerhedshensyn ikke accepteres. Gem den som almindelig XML, og prøv igen.",
        ErrorCode::NotPdf => "Filen er ikke en PDF, selv om navnet ender på .pdf. Eksportér den som PDF, eller underskriv den som 'enhver fil' (CAdES).",
        ErrorCode::PdfEncrypted => "PDF'er med adgangskode kan ikke underskrives. Gem en kopi uden adgangskode, og upload den.",
        ErrorCode::PdfMalformed => "PDF'en er beskadiget. Åbn den i en PDF-læser, og gem eller udskriv den til en ny PDF; prøv så igen.",
        ErrorCode::PdfNoChangesAllowed => "PDF'en er certificeret, så flere underskrifter ikke er tilladt. Bed forfatteren om en kopi, der tillader underskrift.",
        ErrorCode::InvalidCvr => "Et CVR-nummer har 8 cifre med et gyldigt kontrolciffer. Kontrollér nummeret i CVR-registret.",
        ErrorCode::Forbidden => "Kun en administrator af virksomheden (eller en supportmedarbejder) må gøre dette.",
        ErrorCode::RightMissing => "Du har ikke retten for denne virksomhed (sign_on_behalf eller use_seal). Bed en administrator om at give dig den.",
        ErrorCode::UnusableInput => "Filen kan ikke kontrolleres: den er ikke en underskrevet PDF-, XML- eller CMS-fil, eller den er beskadiget. Upload selve den underskrevne fil (og til en .p7s-fil også det underskrevne indhold).",
        ErrorCode::FormRejected => "Formularen kom ikke fra qsigns egen side, eller siden er for gammel. Gå tilbage, genindlæs siden, og send formularen igen. Tillad cookies for denne side.",
        ErrorCode::QuotaExceeded => "Underskriv eller annullér et af de dokumenter, der venter på dig, eller vent til de udløber, og upload så igen.",
        ErrorCode::RateLimited => "Vent et øjeblik, og send forespørgslen igen.",
        ErrorCode::CaseClosed => "Åbn sagen igen: hvis et andet medlem har underskrevet imens, så underskriv den nuværende version; en færdig eller udløbet sag kan ikke underskrives mere.",
        ErrorCode::InvalidState => "Genindlæs fuldmagten for at se, hvor den står: et tilbud accepteres af den anden part, en anmodning godkendes af den adspurgte virksomhed, og en afvist eller tilbagekaldt fuldmagt er slut for altid.",
        ErrorCode::MandateInvalid => "Bed virksomheden, der gav fuldmagten, eller din egen administrator om en gældende fuldmagt, der dækker dette og er tildelt dig.",
        ErrorCode::InvalidRule => "Skriv reglen med rollenavne forbundet med | (enten) og & (sammen), et antal i tuborgklammer for flere underskrivere, fx director | board{2} | chair & board{1}.",
        ErrorCode::AuthorizationRefused => "Underskriveren afviste anmodningen på sin telefon. Spørg kun igen, hvis vedkommende alligevel vil underskrive.",
        ErrorCode::AuthorizationExpired => "Ingen godkendte anmodningen i tide. Bed om godkendelsen igen, og godkend den hurtigt på siden med godkendelser.",
        ErrorCode::AuthorizationClosed => "Anmodningen er allerede godkendt eller afvist, og en godkendelse udleveres kun én gang til programmet. Bed om en ny godkendelse.",
        ErrorCode::InvalidClient => "Programmet kunne ikke bevise, hvilket program det er. Leverandøren skal registrere programmets nøgle hos qsign (eller hos virksomhedens administrator) og underskrive en ny klientpåstand til hver forespørgsel.",
        ErrorCode::InvalidDpopProof => "Programmet skal ved hver forespørgsel bevise, at det har den nøgle, adgangsbilletten er bundet til: et nyt DPoP-bevis for denne adresse og metode, brugt én gang. Kontakt programmets leverandør.",
        ErrorCode::UnknownPolicy => "Angiv en af de valideringspolitikker, tjenesten tilbyder (meddelelsen nævner dem), eller ingen for standardpolitikken.",
    }
}

/// What an audit event means, in the reader's language; empty for events a person does not
/// meet in their own history (the code beside it still says what it is).
#[must_use]
pub fn event_label(t: &Texts, event: &str) -> &'static str {
    let (en, da) = match event {
        "login" => ("Logged in", "Logget ind"),
        "login_failed" => ("Login refused", "Login afvist"),
        "lockout" => (
            "Logins paused after failures",
            "Login sat på pause efter fejl",
        ),
        "step_up" => ("Level raised", "Niveau hævet"),
        "factor_enrolled" => ("Login method added", "Loginmetode tilføjet"),
        "factor_removed" => ("Login method removed", "Loginmetode fjernet"),
        "credential_created" => ("Certificate made", "Certifikat udstedt"),
        "credential_suspended" => ("Certificate suspended", "Certifikat suspenderet"),
        "credential_resumed" => ("Certificate resumed", "Certifikat genoptaget"),
        "credential_revoked" => ("Certificate revoked", "Certifikat spærret"),
        "credential_deleted" => ("Certificate deleted", "Certifikat slettet"),
        "sad_extended" => ("Approval extended", "Godkendelse forlænget"),
        "short_lived_key_destroyed" => ("One-time key destroyed", "Engangsnøgle destrueret"),
        "sad_issued" => ("Signature approved", "Underskrift godkendt"),
        "activation_refused" => ("Approval refused", "Godkendelse afvist"),
        "sad_consumed" => ("Approval used", "Godkendelse brugt"),
        "signature_made" => ("Signature made", "Underskrift lavet"),
        "signature_refused" => ("Signature refused", "Underskrift afvist"),
        "member_invited" => ("Member invited", "Medlem inviteret"),
        "member_joined" => ("Member joined", "Medlem tilsluttet"),
        "member_removed" => ("Member removed", "Medlem fjernet"),
        "right_granted" => ("Right granted", "Rettighed givet"),
        "right_revoked" => ("Right withdrawn", "Rettighed fjernet"),
        "organisation_created" => ("Organisation registered", "Virksomhed registreret"),
        "case_opened" => ("Signing case opened", "Underskriftssag oprettet"),
        "case_signed" => ("Signing case signed", "Underskriftssag underskrevet"),
        "signed_in_capacity" => (
            "Signed on behalf of the organisation",
            "Underskrevet på virksomhedens vegne",
        ),
        "mandate_offered" => ("Power of attorney offered", "Fuldmagt tilbudt"),
        "mandate_requested" => ("Power of attorney requested", "Fuldmagt anmodet"),
        "mandate_granted" => ("Power of attorney granted", "Fuldmagt givet"),
        "mandate_accepted" => ("Power of attorney accepted", "Fuldmagt accepteret"),
        "mandate_approved" => ("Power of attorney approved", "Fuldmagt godkendt"),
        "mandate_refused" => ("Power of attorney refused", "Fuldmagt afvist"),
        "mandate_revoked" => ("Power of attorney revoked", "Fuldmagt tilbagekaldt"),
        "mandate_assigned" => ("Power of attorney assigned", "Fuldmagt tildelt"),
        "mandate_unassigned" => ("Power of attorney withdrawn", "Fuldmagt frataget"),
        "rule_set" => ("Rule of representation set", "Tegningsregel fastsat"),
        "role_added" => ("Role given", "Rolle givet"),
        "role_removed" => ("Role taken away", "Rolle fjernet"),
        "request_made" => ("Right or role asked for", "Ret eller rolle anmodet om"),
        "request_decided" => ("Request decided", "Anmodning afgjort"),
        "member_left" => ("Member left", "Medlem udtrådt"),
        "approval_requested" => (
            "Approval asked for by an application",
            "Godkendelse anmodet af et program",
        ),
        "approval_granted" => ("Request approved", "Anmodning godkendt"),
        "approval_refused" => ("Request refused", "Anmodning afvist"),
        "approval_expired" => ("Request expired", "Anmodning udløbet"),
        "approval_collected" => (
            "Approval handed to the application",
            "Godkendelse udleveret til programmet",
        ),
        "callback_delivery" => (
            "Signed result sent to the application",
            "Underskrevet resultat sendt til applikationen",
        ),
        "client_registered" => ("System client registered", "Systemklient registreret"),
        "client_removed" => ("System client removed", "Systemklient fjernet"),
        _ => ("", ""),
    };
    if t.lang == "da" {
        da
    } else {
        en
    }
}

/// The explanation of a code in the reader's language: (what it means, what to do).
#[must_use]
pub fn explain(t: &Texts, code: ErrorCode) -> (&'static str, &'static str) {
    if t.lang == "da" {
        ("", danish_advice(code))
    } else {
        (code.description(), code.advice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_follows_the_cookie_then_the_header() {
        assert_eq!(choose(None, Some("da-DK,da;q=0.9,en;q=0.8")).lang, "da");
        assert_eq!(choose(None, Some("en-GB,da;q=0.5")).lang, "en");
        assert_eq!(choose(None, Some("de-DE,da;q=0.5")).lang, "da");
        assert_eq!(choose(None, Some("fr")).lang, "en");
        assert_eq!(choose(None, None).lang, "en");
        assert_eq!(choose(Some("en"), Some("da")).lang, "en");
        assert_eq!(choose(Some("xx"), Some("da")).lang, "da");
    }

    #[test]
    fn no_text_is_left_empty() {
        for t in [&EN, &DA] {
            let debug = format!("{t:?}");
            assert!(!debug.contains(": \"\""), "an empty text in {}", t.lang);
        }
    }

    #[test]
    fn every_error_code_is_explained_in_both_languages() {
        for code in ErrorCode::ALL {
            for t in [&EN, &DA] {
                let (_, advice) = explain(t, *code);
                assert!(!advice.is_empty(), "{} in {}", code.as_str(), t.lang);
            }
            assert_ne!(explain(&DA, *code).1, explain(&EN, *code).1);
        }
    }
}
