/** Who is calling: the result of authentication, input to policy, limits and audit. */
export interface Principal {
  subject: string;
  roles: string[];
  /** True until authentication is configured (issue 4): every caller is the same anonymous principal. */
  anonymous: boolean;
}

export const ANONYMOUS: Principal = Object.freeze({ subject: "anonymous", roles: [], anonymous: true }) as Principal;
