/** RBAC as the API server evaluates a ClusterRole's rules for one request (no resourceNames, no subresources). */
export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs?: readonly string[];
}

export interface RbacRequest { readonly verb: string; readonly apiGroup: string; readonly resource: string }

function has(list: readonly string[] | undefined, value: string): boolean {
  return (list ?? []).some((x) => x === '*' || x === value);
}

export function allows(rules: readonly PolicyRule[], r: RbacRequest): boolean {
  return rules.some((rule) => has(rule.verbs, r.verb) && has(rule.apiGroups, r.apiGroup) && has(rule.resources, r.resource));
}

/** The API server's 403 message. */
export function forbiddenMessage(user: string, r: RbacRequest): string {
  const qualified = r.apiGroup === '' ? r.resource : `${r.resource}.${r.apiGroup}`;
  return `${qualified} is forbidden: User "${user}" cannot ${r.verb} resource "${r.resource}" in API group "${r.apiGroup}" at the cluster scope`;
}
