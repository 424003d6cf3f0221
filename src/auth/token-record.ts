/** A token `mcpgw token issue` minted, as recorded (never the token itself: only its claims). */
export interface TokenRecord {
  jti: string;
  subject: string;
  roles: string[];
  description?: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt?: number;
}
