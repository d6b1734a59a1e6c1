import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { type CreatePayoutDto, type PayoutCurrency, PayoutService } from 'nestjs-cashy-payout';
import { PayoutEventsLog } from './payout-events.log';
import { PayoutLedger } from './payout.ledger';

/** The sample's routes: create and read payouts, banks, balance and the events received. */
@Controller()
export class PayoutsController {
  constructor(
    private readonly payouts: PayoutService,
    private readonly ledger: PayoutLedger,
    private readonly eventsLog: PayoutEventsLog,
  ) {}

  /** Creates a payout; `mchOrderNo` is generated when absent. 201 with the order, 400 with the broken rules. */
  @Post('payouts')
  @HttpCode(201)
  async create(@Body() body: Record<string, unknown>) {
    const input = {
      ...body,
      mchOrderNo: body.mchOrderNo ?? `S${randomUUID().replace(/-/g, '').slice(0, 20)}`,
    } as unknown as CreatePayoutDto;
    const order = await this.payouts.createPayout(input);
    this.ledger.remember(order.mchOrderNo, input.currency, input.accountNo);
    return order;
  }

  /** Reads one payout from Cashy by your mchOrderNo. */
  @Get('payouts/:mchOrderNo')
  query(@Param('mchOrderNo') mchOrderNo: string, @Query('currency') currency?: PayoutCurrency) {
    return this.payouts.queryPayout({
      mchOrderNo,
      currency: currency ?? this.ledger.currencyOf(mchOrderNo),
    });
  }

  @Get('banks')
  banks(@Query('currency') currency: PayoutCurrency) {
    return this.payouts.listBanks({ currency });
  }

  @Get('balance')
  balance(@Query('currency') currency: PayoutCurrency) {
    return this.payouts.getBalance({ currency });
  }

  /** Payout events the listeners received, oldest first. */
  @Get('events')
  events() {
    return this.eventsLog.events;
  }
}
