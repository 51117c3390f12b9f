// Every string the chat window shows, by language. Add a language by
// adding a table; missing keys fall back to English.
export const strings = {
  en: {
    title: "Chat with us", write: "Write a message", send: "Send", minimise: "Minimise chat",
    online: "We typically reply in a few minutes",
    replyHour: "We typically reply in under an hour", replyHours: "We typically reply in a few hours", replyDay: "We typically reply within a day",
    offline: "Offline — messages will be sent when you reconnect",
    connecting: "Connecting…", typing: "{name} is typing…", someone: "Someone", you: "You",
    sending: "Sending…", sent: "Sent", notSent: "Not sent: this message was refused.", delivered: "Delivered", read: "Read",
    tooLong: "Your message has {n} characters; the limit is {max}.", newMessage: "New message",
    notAllowed: "This chat is not available on this website.", agent: "Agent", bot: "Assistant", botBadge: "Bot",
    csatAsk: "How would you rate this conversation?", csatThanks: "Thanks for your feedback!", closed: "This conversation was closed. Write again any time.",
    closedIdle: "We closed this conversation as we hadn't heard from you for a while. Write again any time.",
    name: "Name", email: "Email", start: "Start chat", prechatIntro: "Before we start, tell us who you are.",
    away: "We're away right now. Leave your email and message, and we'll reply there.", emailRequired: "Please give a valid email address so we can reply.",
    attach: "Attach an image or PDF", fileTooBig: "That file is {size} MB; the limit is {max} MB.", fileType: "Only images (PNG, JPEG, GIF, WebP) and PDFs can be sent.",
    agentJoined: "{name} joined the conversation", transferred: "You are being transferred to another agent",
    inLine: "Thanks for waiting — you're in line and an agent will be with you shortly.",
    idleWarning: "Are you still there? This conversation will close in {minutes} minutes if we don't hear from you.",
    blocked: "This chat is not available.",
    csatMore: "Anything you'd like to add? (optional)",
    endChat: "End chat", endChatConfirm: "End this chat?",
  },
  es: {
    title: "Habla con nosotros", write: "Escribe un mensaje", send: "Enviar", minimise: "Minimizar chat",
    online: "Solemos responder en pocos minutos",
    replyHour: "Solemos responder en menos de una hora", replyHours: "Solemos responder en unas horas", replyDay: "Solemos responder en un día",
    offline: "Sin conexión: los mensajes se enviarán al reconectar",
    connecting: "Conectando…", typing: "{name} está escribiendo…", someone: "Alguien", you: "Tú",
    sending: "Enviando…", sent: "Enviado", notSent: "No enviado: el mensaje fue rechazado.", delivered: "Entregado", read: "Leído",
    tooLong: "Tu mensaje tiene {n} caracteres; el límite es {max}.", newMessage: "Nuevo mensaje",
    notAllowed: "Este chat no está disponible en este sitio.", agent: "Agente", bot: "Asistente", botBadge: "Bot",
    csatAsk: "¿Cómo valorarías esta conversación?", csatThanks: "¡Gracias por tu opinión!", closed: "La conversación se cerró. Escríbenos cuando quieras.",
    closedIdle: "Cerramos esta conversación porque hacía rato que no sabíamos de ti. Escríbenos cuando quieras.",
    name: "Nombre", email: "Correo electrónico", start: "Empezar", prechatIntro: "Antes de empezar, dinos quién eres.",
    away: "Ahora no hay nadie. Déjanos tu correo y tu mensaje y te responderemos allí.", emailRequired: "Indica un correo válido para poder responderte.",
    attach: "Adjuntar una imagen o un PDF", fileTooBig: "El archivo pesa {size} MB; el límite es {max} MB.", fileType: "Solo se pueden enviar imágenes (PNG, JPEG, GIF, WebP) y PDF.",
    agentJoined: "{name} se ha unido a la conversación", transferred: "Te estamos pasando con otro agente",
    inLine: "Gracias por esperar: estás en la cola y un agente te atenderá en breve.",
    idleWarning: "¿Sigues ahí? Esta conversación se cerrará en {minutes} minutos si no sabemos de ti.",
    blocked: "Este chat no está disponible.",
    csatMore: "¿Algo que quieras añadir? (opcional)",
    endChat: "Terminar chat", endChatConfirm: "¿Terminar este chat?",
  },
  fr: {
    title: "Discutons", write: "Écrivez un message", send: "Envoyer", minimise: "Réduire le chat",
    online: "Nous répondons en général en quelques minutes",
    replyHour: "Nous répondons en général en moins d’une heure", replyHours: "Nous répondons en général en quelques heures", replyDay: "Nous répondons en général sous 24 heures",
    offline: "Hors ligne — vos messages partiront à la reconnexion",
    connecting: "Connexion…", typing: "{name} écrit…", someone: "Quelqu’un", you: "Vous",
    sending: "Envoi…", sent: "Envoyé", notSent: "Non envoyé : ce message a été refusé.", delivered: "Remis", read: "Lu",
    tooLong: "Votre message fait {n} caractères ; la limite est {max}.", newMessage: "Nouveau message",
    notAllowed: "Ce chat n’est pas disponible sur ce site.", agent: "Conseiller", bot: "Assistant", botBadge: "Bot",
    csatAsk: "Comment évaluez-vous cette conversation ?", csatThanks: "Merci pour votre avis !", closed: "La conversation est close. Écrivez-nous quand vous voulez.",
    closedIdle: "Nous avons clos cette conversation, faute de nouvelles de votre part. Écrivez-nous quand vous voulez.",
    name: "Nom", email: "E-mail", start: "Commencer", prechatIntro: "Avant de commencer, dites-nous qui vous êtes.",
    away: "Nous sommes absents. Laissez votre e-mail et votre message, nous vous répondrons.", emailRequired: "Indiquez un e-mail valide pour que nous puissions répondre.",
    attach: "Joindre une image ou un PDF", fileTooBig: "Ce fichier fait {size} Mo ; la limite est {max} Mo.", fileType: "Seuls les images (PNG, JPEG, GIF, WebP) et les PDF peuvent être envoyés.",
    agentJoined: "{name} a rejoint la conversation", transferred: "Nous vous transférons à un autre conseiller",
    inLine: "Merci de patienter : vous êtes dans la file et un conseiller va vous répondre sous peu.",
    idleWarning: "Êtes-vous toujours là ? Cette conversation se fermera dans {minutes} minutes sans nouvelles de votre part.",
    blocked: "Ce chat n'est pas disponible.",
    csatMore: "Quelque chose à ajouter ? (facultatif)",
    endChat: "Terminer", endChatConfirm: "Terminer ce chat ?",
  },
  de: {
    title: "Schreiben Sie uns", write: "Nachricht schreiben", send: "Senden", minimise: "Chat minimieren",
    online: "Wir antworten meist in wenigen Minuten",
    replyHour: "Wir antworten meist in weniger als einer Stunde", replyHours: "Wir antworten meist innerhalb weniger Stunden", replyDay: "Wir antworten meist innerhalb eines Tages",
    offline: "Offline – Nachrichten werden beim Verbinden gesendet",
    connecting: "Verbinde…", typing: "{name} schreibt…", someone: "Jemand", you: "Sie",
    sending: "Wird gesendet…", sent: "Gesendet", notSent: "Nicht gesendet: Die Nachricht wurde abgelehnt.", delivered: "Zugestellt", read: "Gelesen",
    tooLong: "Ihre Nachricht hat {n} Zeichen; erlaubt sind {max}.", newMessage: "Neue Nachricht",
    notAllowed: "Dieser Chat ist auf dieser Website nicht verfügbar.", agent: "Mitarbeiter", bot: "Assistent", botBadge: "Bot",
    csatAsk: "Wie bewerten Sie dieses Gespräch?", csatThanks: "Danke für Ihr Feedback!", closed: "Das Gespräch wurde beendet. Schreiben Sie uns jederzeit.",
    closedIdle: "Wir haben das Gespräch beendet, da wir länger nichts von Ihnen gehört haben. Schreiben Sie uns jederzeit.",
    name: "Name", email: "E-Mail", start: "Chat starten", prechatIntro: "Bevor es losgeht: Wer sind Sie?",
    away: "Gerade ist niemand da. Hinterlassen Sie E-Mail und Nachricht, wir antworten dort.", emailRequired: "Bitte geben Sie eine gültige E-Mail-Adresse an.",
    attach: "Bild oder PDF anhängen", fileTooBig: "Die Datei hat {size} MB; erlaubt sind {max} MB.", fileType: "Nur Bilder (PNG, JPEG, GIF, WebP) und PDFs können gesendet werden.",
    agentJoined: "{name} ist dem Gespräch beigetreten", transferred: "Sie werden an einen anderen Mitarbeiter weitergeleitet",
    inLine: "Danke für Ihre Geduld – Sie sind in der Warteschlange, gleich ist jemand für Sie da.",
    idleWarning: "Sind Sie noch da? Dieses Gespräch wird in {minutes} Minuten geschlossen, wenn wir nichts von Ihnen hören.",
    blocked: "Dieser Chat ist nicht verfügbar.",
    csatMore: "Möchten Sie etwas hinzufügen? (optional)",
    endChat: "Chat beenden", endChatConfirm: "Diesen Chat beenden?",
  },
};

// pick returns the table for the brand's language, else the browser's first
// supported one, else English, with English filling any gaps.
export function pick(brandLanguage, browserLanguages) {
  const wanted = [brandLanguage, ...(browserLanguages || [])].filter(Boolean).map((l) => l.toLowerCase().slice(0, 2));
  const lang = wanted.find((l) => strings[l]) || "en";
  const table = { ...strings.en, ...strings[lang] };
  const t = (key, vars) => (table[key] || key).replace(/\{(\w+)\}/g, (_, k) => (vars && k in vars ? String(vars[k]) : ""));
  t.lang = lang;
  return t;
}
