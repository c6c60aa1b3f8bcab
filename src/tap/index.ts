/** The tap's public face: the `/s/:id` handler, and its pages for other answers people see. */
export { choosePageLanguage } from "./page-language";
export { page } from "./responses";
export { handleTap } from "./tap";
