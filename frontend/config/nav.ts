import { KeyRoundIcon, LayersIcon, PlusIcon, ScrollTextIcon, type LucideIcon } from "lucide-react";

export interface NavItem {
  title: string;
  href: string;
  icon: LucideIcon;
}

/** The sidebar, as data. */
export const mainNav: NavItem[] = [
  { title: "Services", href: "/", icon: LayersIcon },
  { title: "New service", href: "/new/", icon: PlusIcon },
  { title: "Audit log", href: "/audit/", icon: ScrollTextIcon },
  { title: "Settings", href: "/settings/", icon: KeyRoundIcon },
];
