import {
  KeyRoundIcon,
  LayersIcon,
  LayoutTemplateIcon,
  PlugIcon,
  PlusIcon,
  ScrollTextIcon,
  type LucideIcon,
} from "lucide-react";

export interface NavItem {
  title: string;
  href: string;
  icon: LucideIcon;
  /** Path prefixes that also mark it current (detail pages). */
  also?: string[];
}

/** The sidebar, as data. */
export const mainNav: NavItem[] = [
  { title: "Services", href: "/", icon: LayersIcon, also: ["/service/"] },
  { title: "New service", href: "/new/", icon: PlusIcon },
  { title: "Templates", href: "/templates/", icon: LayoutTemplateIcon },
  { title: "Plugins", href: "/plugins/", icon: PlugIcon, also: ["/plugin/"] },
  { title: "Audit log", href: "/audit/", icon: ScrollTextIcon },
  { title: "Settings", href: "/settings/", icon: KeyRoundIcon },
];
