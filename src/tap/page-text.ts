/**
 * What the tap's pages say, per language (src/config/page-languages.ts). Every language has
 * every page: the type makes a missing translation a compile error. Pages say nothing about the
 * invite or its data.
 */
import type { PageLanguage } from "../config/page-languages";

export const PAGE_KINDS = [
  "not_found",
  "used",
  "expired",
  "revoked",
  "erased",
  "unavailable",
  "error",
  "rate_limited",
  "preview",
  "confirm",
] as const;
export type PageKind = (typeof PAGE_KINDS)[number];

interface PageText {
  title: string;
  body: string;
}

interface PageTexts {
  pages: Record<PageKind, PageText>;
  /** The confirm page's button. */
  start: string;
  /** The help link's words when BRAND gives a help URL but no help text. */
  help: string;
}

// French puts a no-break space before ! ? : ; (U+00A0 here).
export const PAGE_TEXTS: Record<PageLanguage, PageTexts> = {
  en: {
    start: "Start the survey",
    help: "Get help",
    pages: {
      not_found: {
        title: "Link not found",
        body: "We couldn't find this survey link. Please check that you opened the whole link from your message.",
      },
      used: {
        title: "This link has already been used",
        body: "This survey link was already opened on another device or browser. Each invitation can be used once. Thank you for your interest!",
      },
      expired: {
        title: "This link has expired",
        body: "The time to answer this survey has passed. Thank you for your interest!",
      },
      revoked: {
        title: "This link is no longer available",
        body: "This survey invitation was withdrawn. Thank you for your interest!",
      },
      erased: {
        title: "This link is no longer available",
        body: "This survey invitation has been removed. Thank you for your interest!",
      },
      unavailable: {
        title: "Please try again",
        body: "We couldn't open the survey just now. Your link still works: please try again in a moment.",
      },
      error: {
        title: "Something went wrong",
        body: "We couldn't open the survey because of a problem on our side. We have been told about it; please try again later.",
      },
      rate_limited: {
        title: "Please wait a moment",
        body: "Too many requests came from your network. Please try again in a few seconds.",
      },
      preview: {
        title: "Survey invitation",
        body: "You're invited to share your feedback. Open the link to start the survey.",
      },
      confirm: {
        title: "Share your feedback",
        body: "You're invited to a short survey. It takes a few minutes.",
      },
    },
  },
  fr: {
    start: "Commencer l’enquête",
    help: "Obtenir de l’aide",
    pages: {
      not_found: {
        title: "Lien introuvable",
        body: "Nous n’avons pas trouvé ce lien d’enquête. Vérifiez que vous avez ouvert le lien complet reçu dans votre message.",
      },
      used: {
        title: "Ce lien a déjà été utilisé",
        body: "Ce lien d’enquête a déjà été ouvert sur un autre appareil ou navigateur. Chaque invitation ne peut servir qu’une fois. Merci de votre intérêt\u00a0!",
      },
      expired: {
        title: "Ce lien a expiré",
        body: "Le délai pour répondre à cette enquête est dépassé. Merci de votre intérêt\u00a0!",
      },
      revoked: {
        title: "Ce lien n’est plus disponible",
        body: "Cette invitation à l’enquête a été retirée. Merci de votre intérêt\u00a0!",
      },
      erased: {
        title: "Ce lien n’est plus disponible",
        body: "Cette invitation à l’enquête a été supprimée. Merci de votre intérêt\u00a0!",
      },
      unavailable: {
        title: "Veuillez réessayer",
        body: "Nous n’avons pas pu ouvrir l’enquête pour le moment. Votre lien fonctionne toujours\u00a0: réessayez dans un instant.",
      },
      error: {
        title: "Une erreur s’est produite",
        body: "Nous n’avons pas pu ouvrir l’enquête à cause d’un problème de notre côté. Nous en avons été informés\u00a0; veuillez réessayer plus tard.",
      },
      rate_limited: {
        title: "Veuillez patienter un instant",
        body: "Trop de demandes proviennent de votre réseau. Veuillez réessayer dans quelques secondes.",
      },
      preview: {
        title: "Invitation à une enquête",
        body: "Nous aimerions connaître votre avis. Ouvrez le lien pour commencer l’enquête.",
      },
      confirm: {
        title: "Donnez-nous votre avis",
        body: "Nous vous invitons à répondre à une courte enquête. Elle ne prend que quelques minutes.",
      },
    },
  },
  de: {
    start: "Umfrage starten",
    help: "Hilfe erhalten",
    pages: {
      not_found: {
        title: "Link nicht gefunden",
        body: "Wir konnten diesen Umfragelink nicht finden. Bitte prüfen Sie, ob Sie den vollständigen Link aus Ihrer Nachricht geöffnet haben.",
      },
      used: {
        title: "Dieser Link wurde bereits verwendet",
        body: "Dieser Umfragelink wurde bereits auf einem anderen Gerät oder in einem anderen Browser geöffnet. Jede Einladung kann nur einmal verwendet werden. Vielen Dank für Ihr Interesse!",
      },
      expired: {
        title: "Dieser Link ist abgelaufen",
        body: "Die Zeit für die Teilnahme an dieser Umfrage ist abgelaufen. Vielen Dank für Ihr Interesse!",
      },
      revoked: {
        title: "Dieser Link ist nicht mehr verfügbar",
        body: "Diese Einladung zur Umfrage wurde zurückgezogen. Vielen Dank für Ihr Interesse!",
      },
      erased: {
        title: "Dieser Link ist nicht mehr verfügbar",
        body: "Diese Einladung zur Umfrage wurde entfernt. Vielen Dank für Ihr Interesse!",
      },
      unavailable: {
        title: "Bitte versuchen Sie es erneut",
        body: "Wir konnten die Umfrage gerade nicht öffnen. Ihr Link ist weiterhin gültig: Bitte versuchen Sie es gleich noch einmal.",
      },
      error: {
        title: "Etwas ist schiefgelaufen",
        body: "Wegen eines Problems auf unserer Seite konnten wir die Umfrage nicht öffnen. Wir wurden darüber informiert; bitte versuchen Sie es später noch einmal.",
      },
      rate_limited: {
        title: "Bitte warten Sie einen Moment",
        body: "Aus Ihrem Netzwerk kamen zu viele Anfragen. Bitte versuchen Sie es in ein paar Sekunden erneut.",
      },
      preview: {
        title: "Einladung zur Umfrage",
        body: "Wir würden gern Ihre Meinung erfahren. Öffnen Sie den Link, um die Umfrage zu starten.",
      },
      confirm: {
        title: "Ihre Meinung zählt",
        body: "Wir laden Sie zu einer kurzen Umfrage ein. Sie dauert nur wenige Minuten.",
      },
    },
  },
  es: {
    start: "Comenzar la encuesta",
    help: "Obtener ayuda",
    pages: {
      not_found: {
        title: "Enlace no encontrado",
        body: "No encontramos este enlace a la encuesta. Compruebe que abrió el enlace completo de su mensaje.",
      },
      used: {
        title: "Este enlace ya se utilizó",
        body: "Este enlace a la encuesta ya se abrió en otro dispositivo o navegador. Cada invitación se puede usar una sola vez. ¡Gracias por su interés!",
      },
      expired: {
        title: "Este enlace ha expirado",
        body: "El plazo para responder a esta encuesta ha terminado. ¡Gracias por su interés!",
      },
      revoked: {
        title: "Este enlace ya no está disponible",
        body: "Esta invitación a la encuesta fue retirada. ¡Gracias por su interés!",
      },
      erased: {
        title: "Este enlace ya no está disponible",
        body: "Esta invitación a la encuesta fue eliminada. ¡Gracias por su interés!",
      },
      unavailable: {
        title: "Vuelva a intentarlo",
        body: "No pudimos abrir la encuesta en este momento. Su enlace sigue funcionando: vuelva a intentarlo en unos instantes.",
      },
      error: {
        title: "Algo salió mal",
        body: "No pudimos abrir la encuesta por un problema de nuestra parte. Ya estamos al tanto; vuelva a intentarlo más tarde.",
      },
      rate_limited: {
        title: "Espere un momento",
        body: "Llegaron demasiadas solicitudes desde su red. Vuelva a intentarlo en unos segundos.",
      },
      preview: {
        title: "Invitación a una encuesta",
        body: "Nos gustaría conocer su opinión. Abra el enlace para comenzar la encuesta.",
      },
      confirm: {
        title: "Comparta su opinión",
        body: "Le invitamos a responder una breve encuesta. Solo le llevará unos minutos.",
      },
    },
  },
};
